"""`disconnect`: the service's container taken off the stack's networks (compose only): to every peer it
is gone, while it runs on, unlike a Toxiproxy partition, which cuts one hop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.stack import Stack


class DisconnectParams(FaultParams):
    action: Literal["disconnect"]


@dataclass
class Disconnect:
    stack: Stack
    service: str

    def inject(self) -> None:
        self.stack.disconnect(self.service)

    def revert(self) -> None:
        self.stack.reconnect(self.service)

    def describe(self) -> str:
        return f"disconnect {self.service} from the network"


def build(params: DisconnectParams, context: FaultContext) -> Disconnect:
    return Disconnect(context.stack, params.target)


FAULT = register(
    FaultType(
        "disconnect", DisconnectParams, "service", build, "the container off the network", backends=frozenset({"compose"})
    )
)

"""`kill`: SIGKILL every process of a service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import service_state
from harness.stack import Stack


class KillParams(FaultParams):
    action: Literal["kill"]


@dataclass
class Kill:
    """Like `docker kill`, the stack's restart policy does not revive it: revert starts it."""

    stack: Stack
    service: str

    def inject(self) -> None:
        self.stack.kill(self.service)

    def revert(self) -> None:
        if service_state(self.stack, self.service) != "running":
            self.stack.start(self.service)

    def describe(self) -> str:
        return f"kill {self.service}"


def build(params: KillParams, context: FaultContext) -> Kill:
    return Kill(context.stack, params.target)


FAULT = register(FaultType("kill", KillParams, "service", build, "SIGKILL the service; revert starts it"))

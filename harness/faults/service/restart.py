"""`restart`: the service stopped and started again (a rolling deploy, an OOM-killer restart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import service_state
from harness.stack import Stack


class RestartParams(FaultParams):
    action: Literal["restart"]


@dataclass
class Restart:
    stack: Stack
    service: str

    def inject(self) -> None:
        self.stack.restart(self.service)

    def revert(self) -> None:
        if service_state(self.stack, self.service) != "running":
            self.stack.start(self.service)

    def describe(self) -> str:
        return f"restart {self.service}"


def build(params: RestartParams, context: FaultContext) -> Restart:
    return Restart(context.stack, params.target)


FAULT = register(FaultType("restart", RestartParams, "service", build, "stop and start the service at once"))

"""`restart`: the service stopped and started again (a rolling deploy, an OOM-killer restart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import StartedOnRevert


class RestartParams(FaultParams):
    action: Literal["restart"]


@dataclass
class Restart(StartedOnRevert):
    def inject(self) -> None:
        self.stack.restart(self.service)

    def describe(self) -> str:
        return f"restart {self.service}"


def build(params: RestartParams, context: FaultContext) -> Restart:
    return Restart(context.stack, params.target)


FAULT = register(FaultType("restart", RestartParams, "service", build, "stop and start the service at once"))

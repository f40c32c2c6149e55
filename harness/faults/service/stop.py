"""`stop`: a graceful stop (SIGTERM, then SIGKILL after the grace period)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service.kill import Kill


class StopParams(FaultParams):
    action: Literal["stop"]


@dataclass
class Stop(Kill):
    """Reverted like a kill: started again."""

    def inject(self) -> None:
        self.stack.stop(self.service)

    def describe(self) -> str:
        return f"stop {self.service}"


def build(params: StopParams, context: FaultContext) -> Stop:
    return Stop(context.stack, params.target)


FAULT = register(FaultType("stop", StopParams, "service", build, "stop the service gracefully; revert starts it"))

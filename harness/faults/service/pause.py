"""`pause`: freeze every process of a service: it hangs without dying (the hardest failure to detect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import service_state
from harness.stack import Stack


class PauseParams(FaultParams):
    action: Literal["pause"]


@dataclass
class Pause:
    stack: Stack
    service: str

    def inject(self) -> None:
        self.stack.pause(self.service)

    def revert(self) -> None:
        if service_state(self.stack, self.service) == "paused":
            self.stack.unpause(self.service)

    def describe(self) -> str:
        return f"pause {self.service}"


def build(params: PauseParams, context: FaultContext) -> Pause:
    return Pause(context.stack, params.target)


FAULT = register(FaultType("pause", PauseParams, "service", build, "freeze the service (SIGSTOP / cgroup freezer)"))

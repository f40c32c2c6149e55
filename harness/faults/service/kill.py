"""`kill`: SIGKILL every process of a service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import StartedOnRevert


class KillParams(FaultParams):
    action: Literal["kill"]


@dataclass
class Kill(StartedOnRevert):
    """Like `docker kill`, the stack's restart policy does not revive it: revert starts it."""

    def inject(self) -> None:
        self.stack.kill(self.service)

    def describe(self) -> str:
        return f"kill {self.service}"


def build(params: KillParams, context: FaultContext) -> Kill:
    return Kill(context.stack, params.target)


FAULT = register(FaultType("kill", KillParams, "service", build, "SIGKILL the service; revert starts it"))

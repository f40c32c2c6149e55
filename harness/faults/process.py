"""Faults on a service's processes, through the stack backend: kill, stop, pause."""

from __future__ import annotations

from dataclasses import dataclass

from harness.faults.base import FaultContext, register
from harness.scenario import Fault as FaultSpec
from harness.stack import Stack


def _state(stack: Stack, service: str) -> str:
    return next(status.state for status in stack.status() if status.name == service)


@dataclass
class Kill:
    """SIGKILL. Like `docker kill`, the stack's restart policy does not revive it: revert starts it."""

    stack: Stack
    service: str

    def inject(self) -> None:
        self.stack.kill(self.service)

    def revert(self) -> None:
        if _state(self.stack, self.service) != "running":
            self.stack.start(self.service)

    def describe(self) -> str:
        return f"kill {self.service}"


@dataclass
class Stop(Kill):
    """Graceful stop (SIGTERM, then SIGKILL after the grace period); revert starts it."""

    def inject(self) -> None:
        self.stack.stop(self.service)

    def describe(self) -> str:
        return f"stop {self.service}"


@dataclass
class Pause:
    """Freeze every process of the service: it hangs without dying (the hardest failure to detect)."""

    stack: Stack
    service: str

    def inject(self) -> None:
        self.stack.pause(self.service)

    def revert(self) -> None:
        if _state(self.stack, self.service) == "paused":
            self.stack.unpause(self.service)

    def describe(self) -> str:
        return f"pause {self.service}"


@register("kill")
def _kill(spec: FaultSpec, context: FaultContext) -> Kill:
    return Kill(context.stack, spec.target)


@register("stop")
def _stop(spec: FaultSpec, context: FaultContext) -> Stop:
    return Stop(context.stack, spec.target)


@register("pause")
def _pause(spec: FaultSpec, context: FaultContext) -> Pause:
    return Pause(context.stack, spec.target)

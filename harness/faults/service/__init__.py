"""Faults on a service's processes, through the stack backend (containers or local processes)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.stack import Stack


def service_state(stack: Stack, service: str) -> str:
    return next(status.state for status in stack.status() if status.name == service)


@dataclass
class StartedOnRevert:
    """A fault that leaves a service down (or may): its revert starts it again unless it already runs."""

    stack: Stack
    service: str

    def revert(self) -> None:
        if service_state(self.stack, self.service) != "running":
            self.stack.start(self.service)

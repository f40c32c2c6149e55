"""Faults on a service's processes, through the stack backend (containers or local processes)."""

from __future__ import annotations

from harness.stack import Stack


def service_state(stack: Stack, service: str) -> str:
    return next(status.state for status in stack.status() if status.name == service)

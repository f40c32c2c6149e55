"""Stacks: the reference ML serving stack (or a user's Compose file) on one of two backends."""

from __future__ import annotations

from harness.stack.base import (
    BACKENDS,
    Backend,
    ServiceStatus,
    Stack,
    StackEndpoints,
    StackSettings,
)


def open_stack(backend: Backend, settings: StackSettings | None = None) -> Stack:
    """The `Stack` for `backend`; the compose backend is imported only when used."""
    if backend == "compose":
        from harness.stack.compose import ComposeStack

        return ComposeStack(settings)
    from harness.stack.local import LocalStack

    return LocalStack(settings)


__all__ = ["BACKENDS", "Backend", "ServiceStatus", "Stack", "StackEndpoints", "StackSettings", "open_stack"]

"""What the system under test is: the reference stack, or a user's Compose stack, declared in a target file.

`resolve_target` picks the one a run uses: `--target` over the scenario's
`target:` over the reference stack. Adding a target kind is one module with
a `Target` subclass plus one line in `resolve_target`.
"""

from __future__ import annotations

from pathlib import Path

from harness.stack import StackSettings
from harness.targets.target import Target


def resolve_target(path: Path | None, settings: StackSettings) -> Target:
    """The target in `path` (a target file), or the reference stack with `settings` when None."""
    from harness.targets.reference import REFERENCE_TARGET_FILE, ReferenceTarget

    if path is None or path.resolve() == REFERENCE_TARGET_FILE:
        return ReferenceTarget(settings)
    from harness.targets.compose_file import ComposeFileTarget

    return ComposeFileTarget.from_file(path)


__all__ = ["Target", "resolve_target"]

"""The reference ML serving stack in compose/ as a target: the default, on either backend.

It is declared like any user's stack, in `compose/reference.target.yaml`,
interpolated with the stack settings' environment so that moved ports follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.stack import Backend, Stack, StackSettings, open_stack
from harness.stack.spec import REPO_ROOT
from harness.targets.loader import load_target
from harness.targets.target import Target

REFERENCE_TARGET_FILE = REPO_ROOT / "compose" / "reference.target.yaml"


class ReferenceTarget(Target):
    kind = "reference"

    def __init__(self, settings: StackSettings | None = None) -> None:
        self.settings = settings or StackSettings()
        super().__init__(load_target(REFERENCE_TARGET_FILE, self.settings.environment()), REFERENCE_TARGET_FILE)

    def default_backend(self) -> Backend:
        return "local"

    def facts(self) -> dict[str, Any]:
        """Which stack ran, with the profile it ran in (tuned or the stock settings)."""
        return super().facts() | {"profile": self.settings.profile}

    def open_stack(self, backend: Backend | None, run_dir: Path) -> Stack:
        return open_stack(backend or self.default_backend(), self.settings)

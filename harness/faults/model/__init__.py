"""Faults on a model's registry: how a bad artifact or a bad version reaches production, and a
registry that is down.

Each acts on a model a target declares (`models:`; the fault's `target` is the
model's name) and leaves in the registry what its revert needs
(`harness/models/undo.py`, `outage.py`), so a revert works on a fresh object
too: `failover heal` rebuilds the fault from the journal, or calls
`harness.models.heal.heal_registry` on a registry without a journal. One model
fault per alias at a time (a second is refused until the first is reverted).
"""

from __future__ import annotations

from typing import Any

from harness.errors import BadInput
from harness.faults.base import FaultContext, FaultParams
from harness.models import outage, undo
from harness.models.access import ModelAccess
from harness.models.file_registry import FileRegistry, RegistryError


class AliasParams(FaultParams):
    alias: str = "champion"
    """The registry alias the fault moves (champion: what the servers serve; candidate: a canary)."""

    def scope(self) -> str:
        return f"alias {self.alias}"


def model_access(context: FaultContext, model: str) -> ModelAccess:
    access = context.models.get(model)
    if access is None:
        declared = ", ".join(context.models) or "none"
        raise BadInput(f"no model '{model}' to act on (declared: {declared})", "declare it under `models:` in the target")
    return access


def revert_alias(registry: FileRegistry, alias: str) -> None:
    if outage.is_down(registry):
        raise RegistryError(
            f"cannot revert the fault on '{alias}': the registry {registry.root} is down (another fault)",
            "revert the registry outage first; `failover heal` does both in that order",
        )
    undo.undo(registry, alias)


def source(registry: FileRegistry, alias: str) -> tuple[str, dict[str, Any], bytes]:
    """The version the alias points at, its manifest entry and its artifact's bytes."""
    version = registry.resolve(alias)
    return version, registry.entry(version), registry.artifact_bytes(version)

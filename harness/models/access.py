"""Where a model's registry and its library of bad artifacts are: what model faults act through.

The run journal records it for every declared model, so `failover heal` can
revert a model fault without the target file (the registry itself keeps what
each fault changed: `undo.py`, `outage.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BadInput
from harness.models.faulty import FaultyLibrary
from harness.models.file_registry import FileRegistry


@dataclass(frozen=True)
class ModelAccess:
    name: str
    registry: Path
    """A file registry's folder on this host."""
    faulty: Path | None = None
    """A folder with index.json: bad artifacts a fault may push; None when the target declares none."""

    def open_registry(self) -> FileRegistry:
        return FileRegistry(self.registry)

    def library(self) -> FaultyLibrary:
        if self.faulty is None:
            raise BadInput(
                f"model '{self.name}' declares no faulty library to push from",
                f"add `faulty: DIR` (a folder with index.json) under models.{self.name} in the target file",
            )
        return FaultyLibrary(self.faulty)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "registry": str(self.registry), "faulty": str(self.faulty) if self.faulty else None}

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> ModelAccess:
        faulty = fields.get("faulty")
        return cls(fields["name"], Path(fields["registry"]), Path(faulty) if faulty else None)

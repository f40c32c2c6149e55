"""`push_version`: an artifact from the model's faulty library pushed as a new version, with its true
accuracy recorded, and the alias moved to it: a bad rollout. The library's artifacts: degraded (answers
200, lower accuracy), constant, nan, slow, crash-on-load (`fixtures/faulty/index.json`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.model import AliasParams, model_access, revert_alias, source
from harness.models import undo
from harness.models.faulty import FaultyLibrary
from harness.models.file_registry import FileRegistry


class PushVersionParams(AliasParams):
    action: Literal["push_version"]
    artifact: str = Field(examples=["degraded"])
    """A name in the model's faulty library (`faulty:` in the target file)."""


@dataclass
class PushVersion:
    registry: FileRegistry
    alias: str
    library: FaultyLibrary
    faulty_name: str

    def inject(self) -> None:
        artifact = self.library.get(self.faulty_name)
        entry = self._like()
        data = artifact.file.read_bytes()
        version = self.registry.next_version()
        record = undo.begin_push(self.registry, self.alias, version)
        self.registry.add_version(
            data,
            version=version,
            metrics={} if artifact.accuracy is None else {"accuracy": artifact.accuracy},
            format=artifact.format or entry.get("format"),
            filename=Path(str(entry["path"])).name,
            note=f"failover-harness fault: {self.faulty_name} ({artifact.what})",
        )
        self.registry.set_alias(self.alias, version)
        undo.finish(self.registry, record)

    def _like(self) -> dict[str, Any]:
        """The manifest entry the new version imitates (format, file name): the alias's version, or, for
        an alias that does not exist yet (a first `candidate`), the champion's."""
        aliases = self.registry.aliases()
        return source(self.registry, self.alias if self.alias in aliases else "champion")[1]

    def revert(self) -> None:
        revert_alias(self.registry, self.alias)

    def describe(self) -> str:
        return f"push '{self.faulty_name}' as '{self.alias}' ({self.registry.root})"


def build(params: PushVersionParams, context: FaultContext) -> PushVersion:
    access = model_access(context, params.target)
    library = access.library()
    library.get(params.artifact)  # an unknown name is refused now, before anything starts
    return PushVersion(access.open_registry(), params.alias, library, params.artifact)


FAULT = register(
    FaultType("push_version", PushVersionParams, "model", build, "a bad version (faulty library) made the alias's")
)

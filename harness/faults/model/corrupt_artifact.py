"""`corrupt_artifact`: a corrupted copy of the alias's artifact pushed as a new version and the alias
moved to it (a bad upload reaching production); with `in_place`, the live artifact's own file corrupted
(bit rot, an overwrite: servers that loaded it keep serving, the next load finds it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.model import AliasParams, model_access, revert_alias, source
from harness.models import undo
from harness.models.corruption import Mode, corrupt
from harness.models.file_registry import FileRegistry, atomic_write, sha256_hex
from harness.yaml_model import field_not_allowed


class CorruptArtifactParams(AliasParams):
    action: Literal["corrupt_artifact"]
    mode: Mode = Field(examples=["bitflip"])
    """bitflip (weights' signs flipped: still loads, predicts wrong; only the checksum or a self-check
    catches it), truncate, garbage, or checksum (bytes intact, the recorded sha256 wrong)."""
    in_place: bool = False
    """Corrupt the live file instead of pushing a new version."""

    @model_validator(mode="after")
    def _in_place_needs_bytes(self) -> CorruptArtifactParams:
        if self.in_place and self.mode == "checksum":
            why = "mode checksum changes the manifest, not the file"
            raise field_not_allowed("in_place", why, "in_place is for bitflip, truncate and garbage")
        return self


@dataclass
class CorruptArtifact:
    registry: FileRegistry
    alias: str
    mode: Mode
    in_place: bool = False

    def inject(self) -> None:
        if self.in_place:
            self._corrupt_live_file()
            return
        origin, entry, good = source(self.registry, self.alias)
        bad = corrupt(good, self.mode)  # before anything changes: an artifact it cannot corrupt leaves no trace
        recorded = sha256_hex(b"failover: a wrong checksum of " + good) if self.mode == "checksum" else sha256_hex(good)
        version = self.registry.next_version()
        record = undo.begin_push(self.registry, self.alias, version)
        self.registry.add_version(
            bad,
            version=version,
            sha256=recorded,
            metrics=dict(entry.get("metrics") or {}),
            format=entry.get("format"),
            filename=Path(str(entry["path"])).name,
            note=f"failover-harness fault: {self.mode} copy of {origin}",
        )
        self.registry.set_alias(self.alias, version)
        undo.finish(self.registry, record)

    def _corrupt_live_file(self) -> None:
        version, _, good = source(self.registry, self.alias)
        bad = corrupt(good, self.mode)
        undo.begin_in_place(self.registry, self.alias, version, good)
        atomic_write(self.registry.artifact_path(version), bad)

    def revert(self) -> None:
        revert_alias(self.registry, self.alias)

    def describe(self) -> str:
        where = "its live file" if self.in_place else "a new version"
        return f"corrupt artifact ({self.mode}) of '{self.alias}' in {where} ({self.registry.root})"


def build(params: CorruptArtifactParams, context: FaultContext) -> CorruptArtifact:
    registry = model_access(context, params.target).open_registry()
    return CorruptArtifact(registry, params.alias, params.mode, params.in_place)


FAULT = register(
    FaultType("corrupt_artifact", CorruptArtifactParams, "model", build, "a corrupted artifact made the alias's version")
)

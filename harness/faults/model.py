"""Faults on a model registry: how a bad artifact reaches production, and a registry that is down.

Each acts on a target's model registry (`models:` in the target file) and
leaves in the registry what its revert needs (`harness/models/undo.py`,
`outage.py`), so a revert works on a fresh object too: `failover heal`
rebuilds a fault from the journal and reverts it, or calls
`harness.models.heal.heal_registry` on a registry without a journal.

- `CorruptArtifact`: a corrupted copy of the alias's artifact pushed as a new
  version, the alias moved to it (a bad upload reaching production); with
  `in_place`, the live artifact's own file corrupted (bit rot, an overwrite:
  servers that loaded it keep serving, the next load finds it).
- `PartialCopy`: a new version whose artifact is still being copied, in
  pieces over `seconds`, while the alias already points at it (a copy racing
  a reload).
- `PushVersion`: an artifact from the faulty library pushed as a new version
  with its true accuracy, the alias moved to it (a bad model rollout).
- `RegistryDown`: the registry unavailable to readers and writers.

One model fault per alias at a time (a second is refused until the first is
reverted). Registration with the scenario format is not here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.models import outage, undo
from harness.models.corruption import MODES, Mode, corrupt
from harness.models.faulty import FaultyLibrary
from harness.models.file_registry import FileRegistry, RegistryError, atomic_write, sha256_hex

PARTIAL_COPY_PIECES = 10


def _revert_alias(registry: FileRegistry, alias: str) -> None:
    if outage.is_down(registry):
        raise RegistryError(
            f"cannot revert the fault on '{alias}': the registry {registry.root} is down (another fault)",
            "revert the registry outage first; `failover heal` does both in that order",
        )
    undo.undo(registry, alias)


def _source(registry: FileRegistry, alias: str) -> tuple[str, dict[str, Any], bytes]:
    """The version the alias points at, its manifest entry and its artifact's bytes."""
    version = registry.resolve(alias)
    return version, registry.entry(version), registry.artifact_bytes(version)


@dataclass
class CorruptArtifact:
    registry: FileRegistry
    alias: str
    mode: Mode
    in_place: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown corruption '{self.mode}' (modes: {', '.join(MODES)})")
        if self.in_place and self.mode == "checksum":
            raise ValueError(
                "mode checksum changes the manifest, not the file: in_place is for bitflip, truncate, garbage"
            )

    def inject(self) -> None:
        if self.in_place:
            self._corrupt_live_file()
            return
        source, entry, good = _source(self.registry, self.alias)
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
            note=f"failover-harness fault: {self.mode} copy of {source}",
        )
        self.registry.set_alias(self.alias, version)
        undo.finish(self.registry, record)

    def _corrupt_live_file(self) -> None:
        version, _, good = _source(self.registry, self.alias)
        bad = corrupt(good, self.mode)
        undo.begin_in_place(self.registry, self.alias, version, good)
        atomic_write(self.registry.artifact_path(version), bad)

    def revert(self) -> None:
        _revert_alias(self.registry, self.alias)

    def describe(self) -> str:
        where = "its live file" if self.in_place else "a new version"
        return f"corrupt artifact ({self.mode}) of '{self.alias}' in {where} ({self.registry.root})"


@dataclass
class PartialCopy:
    registry: FileRegistry
    alias: str
    seconds: float
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _writer: threading.Thread | None = field(default=None, init=False, repr=False)

    def inject(self) -> None:
        source, entry, data = _source(self.registry, self.alias)
        version = self.registry.next_version()
        record = undo.begin_push(self.registry, self.alias, version)
        relative = f"{version}/{Path(str(entry['path'])).name}"
        target = self.registry.root / relative
        self.registry.make_dir(target.parent)
        pieces = _pieces(data, PARTIAL_COPY_PIECES)
        atomic_write(target, pieces[0])
        self.registry.add_entry(
            version,
            relative,
            sha256_hex(data),
            dict(entry.get("metrics") or {}),
            entry.get("format"),
            note=f"failover-harness fault: a partial copy of {source}",
        )
        self.registry.set_alias(self.alias, version)
        undo.finish(self.registry, record)
        self._stop.clear()
        self._writer = threading.Thread(target=self._copy, args=(target, pieces[1:]), daemon=True, name="partial-copy")
        self._writer.start()

    def _copy(self, target: Path, rest: list[bytes]) -> None:
        pause = self.seconds / max(len(rest), 1)
        with open(target, "ab") as handle:
            for piece in rest:
                if self._stop.wait(pause):
                    return
                handle.write(piece)
                handle.flush()

    def revert(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        _revert_alias(self.registry, self.alias)

    def describe(self) -> str:
        return f"partial copy of '{self.alias}' as a new version over {self.seconds:g}s ({self.registry.root})"


@dataclass
class PushVersion:
    registry: FileRegistry
    alias: str
    library: FaultyLibrary
    faulty_name: str

    def inject(self) -> None:
        artifact = self.library.get(self.faulty_name)
        _, entry, _ = _source(self.registry, self.alias)
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

    def revert(self) -> None:
        _revert_alias(self.registry, self.alias)

    def describe(self) -> str:
        return f"push '{self.faulty_name}' as '{self.alias}' ({self.registry.root})"


@dataclass
class RegistryDown:
    registry: FileRegistry
    seconds: float | None = None
    """Back by itself after this long; None: until reverted."""
    _timer: threading.Timer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def inject(self) -> None:
        outage.take_down(self.registry)
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._bring_back)
            self._timer.daemon = True
            self._timer.start()

    def _bring_back(self) -> None:
        with self._lock:
            outage.bring_back(self.registry)

    def revert(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._bring_back()

    def describe(self) -> str:
        how_long = f" for {self.seconds:g}s" if self.seconds is not None else ""
        return f"model registry {self.registry.root} down{how_long}"


def _pieces(data: bytes, count: int) -> list[bytes]:
    size = max(1, -(-len(data) // count))
    return [data[start : start + size] for start in range(0, len(data), size)] or [b""]

"""What a model fault changed in a file registry, kept in the registry so that any process can undo it.

`failover heal` rebuilds a fault from the run journal and calls its `revert()`
on a fresh object that remembers nothing, so every inject first writes an
undo record into `<registry>/.failover/undo/alias-<alias>.json` (fsynced, before
it changes anything), and a revert works from that record alone:

- a pushed version (`push`): the version added, what the alias pointed at
  before, and the manifest's bytes before and after the inject. If the
  manifest is still what the inject wrote, the old bytes come back exactly;
  if someone changed it since (a rollout controller rolled back, or
  promoted), the version is removed and every alias pointing at it goes back
  to what it pointed at before the fault, and the rest is left as it is.
- an artifact corrupted in place (`in-place`): a copy of the original bytes
  beside the record, written back on revert.

One model fault per alias at a time: a second one is refused until the first
is reverted, since two faults moving one alias cannot be undone in any order.
`heal_registry` undoes everything a registry's records name (the hook for
`failover heal`, with or without a journal). The `.failover` folder is
removed once it is empty, so a reverted registry is the tree it was.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from harness.models.file_registry import FileRegistry, RegistryError, atomic_write

Kind = Literal["push", "in-place"]


@dataclass(frozen=True)
class UndoRecord:
    kind: Kind
    alias: str
    version: str
    """push: the version the fault added; in-place: the version whose artifact it corrupted."""
    before: str | None = None
    """What the alias pointed at before (push)."""
    manifest_before: str = ""
    manifest_after: str = ""
    """The manifest as the inject left it ('' until the inject finished)."""


def undo_dir(registry: FileRegistry) -> Path:
    return registry.harness_dir / "undo"


def _record_path(registry: FileRegistry, alias: str) -> Path:
    return undo_dir(registry) / f"alias-{alias}.json"


def _backup_path(registry: FileRegistry, alias: str) -> Path:
    return undo_dir(registry) / f"alias-{alias}.artifact"


def read_record(registry: FileRegistry, alias: str) -> UndoRecord | None:
    path = _record_path(registry, alias)
    try:
        return UndoRecord(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as error:
        raise RegistryError(f"unreadable undo record {path}: {error}", "restore the registry by hand") from error


def write_record(registry: FileRegistry, record: UndoRecord, *, new: bool = False) -> None:
    """Store `record` (fsynced); `new`: refuse when a fault on the alias is already in effect."""
    path = _record_path(registry, record.alias)
    if new and path.exists():
        raise RegistryError(
            f"a model fault on alias '{record.alias}' of {registry.root} is already in effect",
            "one model fault per alias at a time: revert the first (or `failover heal`) before injecting another",
        )
    registry.make_dir(path.parent)
    atomic_write(path, json.dumps(asdict(record), indent=1).encode())


def begin_in_place(registry: FileRegistry, alias: str, version: str, original: bytes) -> None:
    """Keep `original` (the artifact of `version`) and record that it is about to be overwritten."""
    record = UndoRecord("in-place", alias, version)
    if _record_path(registry, alias).exists():
        write_record(registry, record, new=True)  # refused, with the reason
    backup = _backup_path(registry, alias)
    registry.make_dir(backup.parent)
    atomic_write(backup, original)
    write_record(registry, record, new=True)


def begin_push(registry: FileRegistry, alias: str, version: str) -> UndoRecord:
    """Record, before anything changes, that `version` is about to be added and `alias` moved to it."""
    manifest = registry.manifest_bytes()
    record = UndoRecord("push", alias, version, registry.aliases().get(alias), manifest.decode())
    write_record(registry, record, new=True)
    return record


def finish(registry: FileRegistry, record: UndoRecord) -> None:
    """The inject is complete: remember the manifest it left, for an exact restore."""
    done = UndoRecord(**{**asdict(record), "manifest_after": registry.manifest_bytes().decode()})
    write_record(registry, done)


def undo(registry: FileRegistry, alias: str) -> str | None:
    """Undo the fault recorded for `alias`; what was undone, or None when nothing was in effect."""
    record = read_record(registry, alias)
    if record is None:
        return None
    if record.kind == "push":
        _undo_push(registry, record)
        what = f"removed {record.version} and pointed '{alias}' back at {record.before}"
    else:
        atomic_write(registry.artifact_path(record.version), _backup_path(registry, alias).read_bytes())
        what = f"restored the artifact of {record.version}"
    _backup_path(registry, alias).unlink(missing_ok=True)
    _record_path(registry, alias).unlink()
    _remove_if_empty(undo_dir(registry))
    _remove_if_empty(registry.harness_dir)
    return what


def open_aliases(registry: FileRegistry) -> list[str]:
    """The aliases a fault is recorded for, oldest first."""
    folder = undo_dir(registry)
    if not folder.is_dir():
        return []
    records = sorted(folder.glob("alias-*.json"), key=lambda path: path.stat().st_mtime)
    return [path.stem.removeprefix("alias-") for path in records]


def _undo_push(registry: FileRegistry, record: UndoRecord) -> None:
    with registry.locked():  # what the manifest is now decides what is written: nobody may move it meanwhile
        current = registry.manifest_bytes().decode()
        if current in (record.manifest_after, record.manifest_before):
            registry.write_manifest_bytes(record.manifest_before.encode())  # untouched since: exactly as it was
        else:
            _repoint(registry, record)
    registry.remove_version_files(record.version)


def _repoint(registry: FileRegistry, record: UndoRecord) -> None:
    """The manifest changed since the inject: drop the version and only the aliases that point at it."""
    manifest = registry.read_manifest()
    before = json.loads(record.manifest_before).get("aliases", {})
    for alias, target in list(manifest["aliases"].items()):
        if target != record.version:
            continue
        if alias in before:
            manifest["aliases"][alias] = before[alias]
        else:
            del manifest["aliases"][alias]
    manifest["versions"].pop(record.version, None)
    registry.write_manifest(manifest)


def _remove_if_empty(folder: Path) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty (another fault's record), or already gone

"""The file registry's manifest, as the guardian reads and writes it.

Contract (shared with compose/modelserver): `manifest.json` in the registry
directory, `{"schema_version": 2, "model": ..., "aliases": {"champion": "v2",
...}, "versions": {"vN": {"path", "sha256", "format", "metrics": {"accuracy"}}}}`,
always replaced whole (temp file in the same directory + os.replace) so a
reader never sees half a file; writers (the harness, the model servers' tools,
the guardian) serialise on an exclusive flock of the registry directory. Model servers poll it and follow their alias.

This is the guardian's own small reader/writer of that contract (it needs only
aliases and recorded accuracy). It also accepts schema_version 1, the layout
before ONNX, which has the same aliases and versions.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SCHEMA_VERSIONS = (1, 2)


class RegistryUnavailable(Exception):
    """The manifest cannot be read or written right now (the caller retries)."""


@dataclass(frozen=True)
class Manifest:
    aliases: dict[str, str]
    accuracy: dict[str, float]
    """Recorded accuracy per version (metrics.accuracy)."""
    written_t: float
    """When the manifest was last replaced (its mtime): when its aliases last moved."""
    raw: dict[str, Any]

    def alias(self, name: str) -> str | None:
        version = self.aliases.get(name)
        return version if version in self.accuracy else None


def read_manifest(registry_dir: Path) -> Manifest:
    path = registry_dir / MANIFEST
    try:
        written_t = path.stat().st_mtime
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise RegistryUnavailable(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("schema_version") not in SCHEMA_VERSIONS:
        raise RegistryUnavailable(f"{path}: expected schema_version in {SCHEMA_VERSIONS}")
    versions = raw.get("versions") or {}
    accuracy = {name: float((entry.get("metrics") or {}).get("accuracy", 0.0)) for name, entry in versions.items()}
    return Manifest(aliases=dict(raw.get("aliases") or {}), accuracy=accuracy, written_t=written_t, raw=raw)


def update_aliases(
    registry_dir: Path, change: Callable[[dict[str, str]], dict[str, str] | None]
) -> dict[str, str] | None:
    """Re-read the manifest, apply `change` to its aliases and replace the file atomically.

    `change` gets the current aliases and returns the new ones, or None when the
    change no longer applies (someone else moved the alias meanwhile): nothing is
    written and None is returned. Otherwise the aliases written.
    """
    with _writers_lock(registry_dir):
        manifest = read_manifest(registry_dir)
        aliases = change(dict(manifest.aliases))
        if aliases is None:
            return None
        _write_atomically(registry_dir / MANIFEST, {**manifest.raw, "aliases": aliases})
        return aliases


@contextmanager
def _writers_lock(registry_dir: Path) -> Iterator[None]:
    try:
        descriptor = os.open(registry_dir, os.O_RDONLY)
    except OSError as exc:
        raise RegistryUnavailable(f"cannot lock {registry_dir}: {exc}") from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


class FileRegistry:
    """The manifest in one directory, as the guardian's controller uses it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def read(self) -> Manifest:
        return read_manifest(self.directory)

    def update(self, change: Callable[[dict[str, str]], dict[str, str] | None]) -> dict[str, str] | None:
        return update_aliases(self.directory, change)


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    try:
        fd, temp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise RegistryUnavailable(f"cannot write {path}: {exc}") from exc
    try:
        os.fchmod(fd, path.stat().st_mode & 0o777)  # mkstemp's 0600 would lock other readers out
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise RegistryUnavailable(f"cannot write {path}: {exc}") from exc

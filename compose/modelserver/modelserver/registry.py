"""File model registry (schema 2): manifest, aliases and verified artifact reads.

Public API, also imported by other services of the stack (the rollout guardian):
`read_manifest`, `resolve`, `resolve_first`, `set_alias`, `write_manifest`,
`read_artifact`, `artifact_stamp`.

manifest.json:
  {"schema_version": 2, "model": "digits",
   "aliases": {"champion": "v2", "previous": "v1"},
   "versions": {"v1": {"path": "v1/model.onnx", "sha256": "...", "format": "onnx",
                       "metrics": {"accuracy": 0.905, "n_train": 150}, "created_from": "..."}}}

Writers replace the manifest atomically (a temporary file in the same
directory, then os.replace), so a reader sees the old manifest or the new one,
never half of one; writers serialise on an exclusive flock of the registry folder itself.
An artifact's bytes are checked against the manifest's sha256 before anything
parses them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SCHEMA_VERSION = 2
FORMAT = "onnx"


class RegistryError(Exception):
    """The registry cannot provide the requested model."""


class IntegrityError(RegistryError):
    """An artifact's bytes do not match the sha256 recorded in the manifest."""


@dataclass(frozen=True)
class Artifact:
    """A version's verified bytes and what the manifest says about them."""

    version: str
    sha256: str
    expected_accuracy: float
    path: Path
    data: bytes


def read_manifest(registry_dir: Path) -> dict[str, Any]:
    path = Path(registry_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read manifest {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
        found = manifest.get("schema_version") if isinstance(manifest, dict) else type(manifest).__name__
        raise RegistryError(f"{path}: expected schema_version {SCHEMA_VERSION}, found {found!r}")
    if not isinstance(manifest.get("versions"), dict) or not isinstance(manifest.get("aliases", {}), dict):
        raise RegistryError(f"{path}: 'versions' and 'aliases' must be objects")
    return manifest


def resolve(manifest: dict[str, Any], alias: str) -> str:
    """Alias (champion, previous, canary) or plain version (v3) -> version."""
    versions = manifest["versions"]
    version = manifest.get("aliases", {}).get(alias, alias)
    if version not in versions:
        known = sorted([*manifest.get("aliases", {}), *versions])
        raise RegistryError(f"unknown model alias or version {alias!r} (known: {', '.join(known)})")
    return version


def resolve_first(manifest: dict[str, Any], aliases: Sequence[str]) -> tuple[str, str]:
    """The first of `aliases` the manifest knows -> (alias, version); e.g.
    ("canary", "champion") serves the canary while that alias is set."""
    for alias in aliases:
        if alias in manifest.get("aliases", {}) or alias in manifest["versions"]:
            return alias, resolve(manifest, alias)
    known = sorted([*manifest.get("aliases", {}), *manifest["versions"]])
    raise RegistryError(f"none of the aliases {', '.join(aliases)} is in the manifest (known: {', '.join(known)})")


def artifact_path(registry_dir: Path, manifest: dict[str, Any], version: str) -> Path:
    """The version's artifact path, refused when it leaves the registry."""
    entry = manifest["versions"][version]
    root = Path(registry_dir).resolve()
    path = (root / entry["path"]).resolve()
    if not path.is_relative_to(root):
        raise RegistryError(f"manifest path for {version} leaves the registry: {entry['path']}")
    return path


def artifact_stamp(registry_dir: Path, manifest: dict[str, Any], version: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of the version's artifact file, None when it is missing:
    a change means the file was rewritten (e.g. a partial copy completed)."""
    try:
        stat = artifact_path(registry_dir, manifest, version).stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def read_artifact(registry_dir: Path, manifest: dict[str, Any], version: str) -> Artifact:
    """The version's bytes, verified against the manifest's sha256."""
    entry = manifest["versions"][version]
    if entry.get("format", FORMAT) != FORMAT:
        raise RegistryError(f"version {version} has format {entry.get('format')!r}, this server reads {FORMAT}")
    path = artifact_path(registry_dir, manifest, version)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read artifact for {version}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise IntegrityError(
            f"sha256 mismatch for {version} ({path}, {len(data)} bytes): "
            f"manifest says {entry['sha256']}, file has {digest}"
        )
    return Artifact(version, digest, float(entry["metrics"]["accuracy"]), path, data)


@contextmanager
def _writer_lock(registry_dir: Path) -> Iterator[None]:
    """The registry writers' lock (the harness and the guardian take the same): an flock of the folder."""
    descriptor = os.open(registry_dir, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def write_manifest(registry_dir: Path, manifest: dict[str, Any]) -> None:
    """Replace manifest.json atomically: readers see the old or the new file, never a mix."""
    directory = Path(registry_dir)
    fd, temp = tempfile.mkstemp(prefix=f".{MANIFEST}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write((json.dumps(manifest, sort_keys=True, separators=(",", ":")) + "\n").encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, directory / MANIFEST)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def set_alias(registry_dir: Path, alias: str, version: str | None) -> dict[str, Any]:
    """Point `alias` at `version` (which must exist), or delete it with None.
    Returns the manifest as written."""
    with _writer_lock(registry_dir):
        manifest = read_manifest(registry_dir)
        aliases = dict(manifest.get("aliases", {}))
        if version is None:
            aliases.pop(alias, None)
        elif version not in manifest["versions"]:
            known = ", ".join(sorted(manifest["versions"]))
            raise RegistryError(f"cannot point alias {alias!r} at {version!r}: no such version (known: {known})")
        else:
            aliases[alias] = version
        manifest = {**manifest, "aliases": aliases}
        write_manifest(registry_dir, manifest)
        return manifest

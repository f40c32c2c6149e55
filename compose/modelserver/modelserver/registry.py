"""Model registry: manifest, alias resolution and verified artifact loading.

An artifact's bytes are checked against the manifest's sha256 before they are
parsed, and they are only ever parsed as JSON: a tampered or swapped file is
rejected without any of its content being interpreted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SCHEMA_VERSION = 1


class RegistryError(Exception):
    """The registry cannot provide the requested model."""


class IntegrityError(RegistryError):
    """An artifact's bytes do not match the sha256 recorded in the manifest."""


@dataclass(frozen=True)
class Artifact:
    version: str
    alias: str
    sha256: str
    expected_accuracy: float
    params: dict[str, Any]


def read_manifest(registry_dir: Path) -> dict[str, Any]:
    path = registry_dir / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read manifest {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
        raise RegistryError(f"{path}: expected schema_version {SCHEMA_VERSION}")
    return manifest


def resolve(manifest: dict[str, Any], alias: str) -> str:
    """Alias (champion, previous) or plain version (v3) -> version."""
    versions = manifest.get("versions", {})
    version = manifest.get("aliases", {}).get(alias, alias)
    if version not in versions:
        known = sorted([*manifest.get("aliases", {}), *versions])
        raise RegistryError(f"unknown model alias or version {alias!r} (known: {', '.join(known)})")
    return version


def load_artifact(registry_dir: Path, alias: str) -> Artifact:
    manifest = read_manifest(registry_dir)
    version = resolve(manifest, alias)
    entry = manifest["versions"][version]
    path = (registry_dir / entry["path"]).resolve()
    if not path.is_relative_to(registry_dir.resolve()):
        raise RegistryError(f"manifest path for {version} leaves the registry: {entry['path']}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read artifact for {version}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise IntegrityError(
            f"sha256 mismatch for {version} ({path}): manifest says {entry['sha256']}, file has {digest}"
        )
    params = json.loads(data)
    if params.get("version") != version:
        raise RegistryError(f"artifact {path} declares version {params.get('version')!r}, expected {version}")
    return Artifact(version, alias, digest, float(entry["metrics"]["accuracy"]), params)

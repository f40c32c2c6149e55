"""A model registry in a folder: `manifest.json` (aliases, versions with sha256 and metrics) and the artifacts.

Schema 2 (schema 1, the JSON-artifact registry it replaces, has the same
shape without `model` and `format`)::

    {"schema_version": 2, "model": "digits",
     "aliases": {"champion": "v2", "previous": "v1"},
     "versions": {"v1": {"path": "v1/model.onnx", "sha256": "...", "format": "onnx",
                         "metrics": {"accuracy": 0.905}}}}

Writers serialise on an exclusive flock of the registry folder itself (no lock file to
leave behind): the model servers' tooling, the rollout guardian and the harness all
read-modify-write the manifest, and without it one's alias change could undo another's.

Every write is atomic for a reader: the bytes go to a temporary file in the
same folder, are fsynced, then `os.replace`d over the target, so a model
server reads the old manifest or the new one, never half of one. An artifact
is written before the manifest names it, and the manifest stops naming a
version before its files are removed.

The folder also keeps what `heal` needs to undo a model fault after a crash
(`.failover/`, see `undo.py`); it is gone again once every fault is reverted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError
from harness.stack.spec import REPO_ROOT

COMMITTED_FIXTURES = REPO_ROOT / "fixtures"
"""Never written: a stack's registry is its own copy (`stack_registry.py`)."""
MANIFEST = "manifest.json"
SCHEMAS = (1, 2)
HARNESS_DIR = ".failover"
"""Inside the registry: the harness's undo records (`undo.py`)."""
_VERSION = re.compile(r"v(\d+)")


class RegistryError(InfrastructureError):
    """The registry cannot be read or written (missing, malformed, unavailable)."""


class FileRegistry:
    """One model's file registry rooted at `root` (the folder holding manifest.json)."""

    kind = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"FileRegistry({str(self.root)!r})"

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    # reading

    def manifest_bytes(self) -> bytes:
        try:
            return self.manifest_path.read_bytes()
        except OSError as error:
            raise RegistryError(f"cannot read the registry manifest {self.manifest_path}: {error.strerror}") from error

    def read_manifest(self) -> dict[str, Any]:
        raw = self.manifest_bytes()
        try:
            manifest = json.loads(raw)
        except ValueError as error:
            raise RegistryError(f"{self.manifest_path} is not JSON: {error}") from error
        if not isinstance(manifest, dict) or manifest.get("schema_version") not in SCHEMAS:
            raise RegistryError(
                f"{self.manifest_path}: not a model registry manifest (schema_version {' or '.join(map(str, SCHEMAS))})"
            )
        manifest.setdefault("aliases", {})
        manifest.setdefault("versions", {})
        return manifest

    def aliases(self) -> dict[str, str]:
        return dict(self.read_manifest()["aliases"])

    def versions(self) -> dict[str, dict[str, Any]]:
        return dict(self.read_manifest()["versions"])

    def resolve(self, alias: str) -> str:
        """The version `alias` points at; RegistryError naming the known aliases otherwise."""
        aliases = self.aliases()
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise RegistryError(f"registry {self.root} has no alias '{alias}' (aliases: {known})")
        return aliases[alias]

    def entry(self, version: str) -> dict[str, Any]:
        versions = self.versions()
        if version not in versions:
            raise RegistryError(f"registry {self.root} has no version '{version}' (versions: {', '.join(versions)})")
        return dict(versions[version])

    def artifact_path(self, version: str) -> Path:
        """The artifact file of `version`; refused when the manifest's path leaves the registry."""
        relative = str(self.entry(version)["path"])
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise RegistryError(f"registry {self.root}: the path of {version} leaves the registry: {relative}")
        return path

    def artifact_bytes(self, version: str) -> bytes:
        path = self.artifact_path(version)
        try:
            return path.read_bytes()
        except OSError as error:
            raise RegistryError(f"cannot read the artifact of {version} ({path}): {error.strerror}") from error

    def next_version(self) -> str:
        """`v<N+1>` after the highest `v<N>` (also among version folders the manifest no longer names)."""
        names = [*self.versions(), *(path.name for path in self.root.iterdir())]
        numbers = [int(match[1]) for name in names if (match := _VERSION.fullmatch(name))]
        return f"v{max(numbers, default=0) + 1}"

    # writing

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.write_manifest_bytes((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())

    def write_manifest_bytes(self, raw: bytes) -> None:
        self.check_writable()
        try:
            atomic_write(self.manifest_path, raw)
        except OSError as error:
            raise RegistryError(f"cannot write the registry manifest {self.manifest_path}: {error}") from error

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The writers' lock (an flock of the folder) for a read-modify-write of the manifest; not reentrant."""
        descriptor = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def set_alias(self, alias: str, version: str) -> None:
        with self.locked():
            manifest = self.read_manifest()
            if version not in manifest["versions"]:
                raise RegistryError(f"cannot point '{alias}' at '{version}': registry {self.root} has no such version")
            manifest["aliases"][alias] = version
            self.write_manifest(manifest)

    def delete_alias(self, alias: str) -> None:
        with self.locked():
            manifest = self.read_manifest()
            if manifest["aliases"].pop(alias, None) is not None:
                self.write_manifest(manifest)

    def add_version(
        self,
        data: bytes,
        *,
        metrics: dict[str, Any],
        format: str | None = None,
        sha256: str | None = None,
        filename: str = "model.onnx",
        version: str | None = None,
        note: str | None = None,
    ) -> str:
        """Write `data` as a new version (artifact first, then the manifest); its name.

        `sha256` is what the manifest records (default: the bytes' own digest; a
        fault records another to model a corruption the checksum must catch).
        """
        version = version or self.next_version()
        if version in self.versions():
            raise RegistryError(f"registry {self.root} already has a version '{version}'")
        relative = f"{version}/{filename}"
        target = self.root / relative
        self.check_writable()
        try:
            self.make_dir(target.parent)
            atomic_write(target, data)
        except OSError as error:
            raise RegistryError(f"cannot write the artifact of {version} ({target}): {error}") from error
        self.add_entry(version, relative, sha256 or sha256_hex(data), metrics, format, note)
        return version

    def add_entry(
        self,
        version: str,
        relative: str,
        sha256: str,
        metrics: dict[str, Any],
        format: str | None,
        note: str | None = None,
    ) -> None:
        """Name a version in the manifest (its artifact is written by the caller); `note` says where it came from."""
        entry: dict[str, Any] = {"path": relative, "sha256": sha256, "metrics": dict(metrics)}
        if format is not None:
            entry["format"] = format
        if note is not None:
            entry["created_from"] = note
        with self.locked():
            manifest = self.read_manifest()
            manifest["versions"][version] = entry
            self.write_manifest(manifest)

    def remove_version(self, version: str) -> None:
        """Drop `version` from the manifest, then its folder. Refused while an alias points at it."""
        with self.locked():
            manifest = self.read_manifest()
            pointing = sorted(alias for alias, target in manifest["aliases"].items() if target == version)
            if pointing:
                raise RegistryError(f"cannot remove {version} from {self.root}: aliases {', '.join(pointing)} point at it")
            entry = manifest["versions"].pop(version, None)
            if entry is not None:
                self.write_manifest(manifest)
        self.remove_version_files(version, entry)

    def remove_version_files(self, version: str, entry: dict[str, Any] | None = None) -> None:
        """The version's own folder (`vN/`), or just its artifact when it shares a folder."""
        self.check_writable()
        folder = self.root / version
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        elif entry is not None:
            (self.root / str(entry["path"])).unlink(missing_ok=True)

    def check_writable(self) -> None:
        """Refuse to write into the committed fixtures: runs write their stack's own copy."""
        if self.root.resolve().is_relative_to(COMMITTED_FIXTURES.resolve()):
            raise RegistryError(
                f"refusing to write to {self.root}: it is the committed fixtures, not a stack's own registry",
                "point the registry at the stack's copy (FAILOVER_REGISTRY, set by the harness at `up`)",
            )

    @property
    def harness_dir(self) -> Path:
        return self.root / HARNESS_DIR

    def make_dir(self, path: Path) -> None:
        """A folder in the registry (and its missing parents), as open as the registry itself."""
        self.check_writable()
        if path.is_dir():
            return
        self.make_dir(path.parent)
        path.mkdir()
        path.chmod(self.root.stat().st_mode & 0o777)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step: a temporary file in the same folder, fsynced, then renamed.

    The new file keeps the mode of the one it replaces; a new one is as open as
    its folder, without execute bits (0600 in a private registry, 0644 in a shared one).
    """
    mode = (path if path.exists() else path.parent).stat().st_mode & (0o777 if path.exists() else 0o666)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash right after must not bring the old file back)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""Follows the registry: loads the wanted version aside, verifies it, swaps.

Every RELOAD_INTERVAL the manifest is read and the first alias of MODEL_ALIAS
it knows is resolved. When that names another (version, sha256) than the one
served, a thread reads the bytes, checks the sha256, creates the runtime
session and runs the labelled self-check; only then is `current` replaced, in
one reference assignment, so a request in flight finishes on the model it
started with and no request ever sees a half-loaded one.

A failure keeps the old model and is recorded in `error`. The same attempt
is not repeated until the manifest entry or the artifact file's (size,
mtime) changes: a broken artifact is not reloaded in a loop, and a partial
copy that completes later is picked up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .model import OnnxModel, self_check
from .registry import RegistryError, artifact_stamp, read_artifact, read_manifest, resolve_first

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """A verified, self-checked model and where it came from."""

    version: str
    alias: str
    sha256: str
    accuracy: float
    model: OnnxModel
    seconds: float


@dataclass(frozen=True)
class Wanted:
    """What the manifest asks this server to serve, and the attempt's identity."""

    alias: str
    version: str
    sha256: str
    attempt: Hashable


def wanted(registry_dir: Path, aliases: tuple[str, ...]) -> Wanted:
    manifest = read_manifest(registry_dir)
    alias, version = resolve_first(manifest, aliases)
    entry = manifest["versions"][version]
    stamp = artifact_stamp(registry_dir, manifest, version)
    attempt = (alias, version, repr(sorted(entry.items())), stamp)
    return Wanted(alias, version, str(entry.get("sha256")), attempt)


def load(settings: Settings, want: Wanted) -> Loaded:
    """Read, verify, create the session and self-check (blocking; run in a thread)."""
    started = time.perf_counter()
    manifest = read_manifest(settings.registry_dir)
    artifact = read_artifact(settings.registry_dir, manifest, want.version)
    model = OnnxModel.from_bytes(artifact.data)
    measured = self_check(model, settings.validation_file, artifact.expected_accuracy, settings.self_check_tolerance)
    return Loaded(artifact.version, want.alias, artifact.sha256, measured, model, time.perf_counter() - started)


class Reloader:
    """Owns `current` (the model served) and `error` (why the wanted one is not)."""

    def __init__(self, settings: Settings, on_outcome: Callable[[str], None], on_swap: Callable[[Loaded], None]):
        self.settings = settings
        self.current: Loaded | None = None
        self.error: str | None = None
        self._failed_attempt: Hashable | None = None
        self._on_outcome = on_outcome
        self._on_swap = on_swap

    def _fail(self, message: str, attempt: Hashable | None, outcome: str) -> None:
        """Record a failure; log and count it once, not on every poll that finds it again."""
        if (message, attempt) != (self.error, self._failed_attempt):
            action = f"keeping {self.current.version}" if self.current else "not ready"
            log.error("%s; %s", message, action)
            self._on_outcome(outcome)
        self.error, self._failed_attempt = message, attempt

    async def step(self) -> None:
        """One poll: load and swap when the wanted model changed."""
        try:
            want = await asyncio.to_thread(wanted, self.settings.registry_dir, self.settings.model_aliases)
        except (RegistryError, KeyError, TypeError) as exc:
            self._fail(f"registry unreadable: {type(exc).__name__}: {exc}", None, "registry_error")
            return
        current = self.current
        if current is not None and (current.version, current.sha256, current.alias) == (
            want.version,
            want.sha256,
            want.alias,
        ):
            if self.error is not None:
                log.info("registry wants %s again, which is served", current.version)
            self.error, self._failed_attempt = None, None
            return
        if want.attempt == self._failed_attempt:
            return
        try:
            loaded = await asyncio.to_thread(load, self.settings, want)
        except Exception as exc:  # noqa: BLE001 - whatever the artifact does, the old model stays
            self._fail(f"model load of {want.version} failed: {type(exc).__name__}: {exc}", want.attempt, "failed")
            return
        self.current, self.error, self._failed_attempt = loaded, None, None
        self._on_outcome("ok")
        self._on_swap(loaded)

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # the poller must outlive any surprise
                log.exception("reload step crashed")
            await asyncio.sleep(self.settings.reload_interval)

"""The run journal: an append-only, crash-safe JSON-lines log of everything a run did.

A fault's intent is written (and fsynced) BEFORE it is injected and its revert
after, so whatever kills the harness, the journal says what may still be
broken. Every open journal is registered under the state directory until its
run has reverted everything; `failover heal` works through the registrations.
A registration names the journal and its owner (pid and process start time,
so that a recycled pid is not mistaken for the run): heal leaves a live run alone.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from harness.stack.state import private_dir, state_root


def registry_dir() -> Path:
    return state_root() / "journals"


@dataclass(frozen=True)
class Owner:
    """The process that writes a journal."""

    pid: int
    started: float
    """Its start time (epoch seconds, as psutil reports it)."""

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), psutil.Process().create_time())

    def alive(self) -> bool:
        """The same process (not a later one that got its pid) is still running."""
        try:
            process = psutil.Process(self.pid)
            return process.create_time() == self.started and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


class Journal:
    """Append-only writer; each line is fsynced before `write` returns."""

    def __init__(self, path: Path, run_id: str | None = None) -> None:
        self.path = path
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.owner = Owner.current()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self._registration = registry_dir() / self.run_id
        private_dir(self._registration.parent)  # a FAILOVER_STATE_DIR the user picked may be shared
        registration = {"journal": str(path.resolve()), "pid": self.owner.pid, "pid_started": self.owner.started}
        self._registration.write_text(json.dumps(registration))
        self.write("journal-open", pid=self.owner.pid, pid_started=self.owner.started)

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"t": time.time(), "event": event, "run_id": self.run_id, **fields}
        _append(self._file, entry)
        return entry

    def close(self, everything_reverted: bool) -> None:
        """Close the file; unregister it when nothing is left for `heal` to do."""
        self._file.close()
        if everything_reverted:
            self._registration.unlink(missing_ok=True)


def _append(handle: Any, entry: dict[str, Any]) -> None:
    handle.write(json.dumps(entry, default=str) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def append_entry(path: Path, event: str, **fields: Any) -> None:
    """Add one entry to an existing journal (used by `heal`, which did not open it)."""
    with open(path, "a", encoding="utf-8") as handle:
        _append(handle, {"t": time.time(), "event": event, **fields})


@dataclass(frozen=True)
class OpenFault:
    """A fault whose intent is in a journal without a matching revert."""

    journal: Path
    run: dict[str, Any]
    intent: dict[str, Any]


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete line; a line cut short by a crash is skipped."""
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def open_faults(path: Path) -> list[OpenFault]:
    run: dict[str, Any] = {}
    intents: dict[int, dict[str, Any]] = {}
    for entry in read_entries(path):
        if entry["event"] == "run-start":
            run = entry
        elif entry["event"] == "fault-intent":
            intents[entry["fault"]] = entry
        elif entry["event"] == "fault-reverted":
            intents.pop(entry["fault"], None)
    return [OpenFault(path, run, intent) for intent in intents.values()]


@dataclass(frozen=True)
class Registration:
    """A run that has not confirmed a clean end."""

    file: Path
    journal: Path
    owner: Owner | None
    """None: registered by an older harness, which did not record it."""

    def unregister(self) -> None:
        self.file.unlink(missing_ok=True)


def registrations() -> list[Registration]:
    directory = registry_dir()
    if not directory.exists():
        return []
    return [_registration(entry) for entry in sorted(directory.iterdir())]


def _registration(file: Path) -> Registration:
    text = file.read_text().strip()
    try:
        fields = json.loads(text)
        return Registration(file, Path(fields["journal"]), Owner(int(fields["pid"]), float(fields["pid_started"])))
    except (ValueError, KeyError, TypeError):  # an older registration: the journal's path alone
        return Registration(file, Path(text), None)

"""Client side of `probe_worker`: start it, stop it, read its records as they arrive."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import orjson

from harness.errors import InfrastructureError
from harness.load.child import die_with_parent
from harness.load.entry import EntryPoint

STOP_GRACE_S = 5.0


def _longest_s(timeout_s: float) -> float:
    """The longest a probe can take: each of connect, send and read is bounded by the timeout."""
    return 3 * timeout_s + 1.0


class ProbeProcess:
    def __init__(self, entry: EntryPoint, rate: float, timeout_s: float, workdir: Path) -> None:
        self.argv = [sys.executable, "-m", "harness.load.probe_worker", entry.to_json(), str(rate), str(timeout_s)]
        self.timeout_s = timeout_s
        self.records_path = workdir / "probes.jsonl"
        self.schedule_path = workdir / "probes-schedule.json"
        self.log_path = workdir / "probes.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._records: list[dict[str, Any]] = []
        self._offset = 0
        self._lock = threading.Lock()  # the live view reads from its own thread

    def start(self) -> None:
        self.records_path.parent.mkdir(parents=True, exist_ok=True)
        self.records_path.touch()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [*self.argv, str(self.records_path), str(self.schedule_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def stop(self) -> None:
        """SIGTERM: the worker waits for requests in flight (up to the timeout), writes them, exits."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self.timeout_s + STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.returncode not in (0, -signal.SIGTERM):
            raise InfrastructureError(f"the probe stream failed (exit {process.returncode})", f"see {self.log_path}")

    def schedule(self) -> dict[str, Any] | None:
        """How far behind its schedule the stream sent (`harness/load/schedule.py`), once stopped;
        None when the worker did not get to write it (killed, or not stopped yet)."""
        try:
            return dict(json.loads(self.schedule_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def records(self) -> list[dict[str, Any]]:
        """Every complete record so far; reads only what was appended since the last call."""
        with self._lock:
            self._read_new()
            return list(self._records)

    def records_since(self, since: float) -> list[dict[str, Any]]:
        """The records of probes sent at or after `since`: work proportional to them, not to the run.

        Records arrive in completion order, and a probe completes within `_longest_s(timeout)` of
        being sent, so walking back from the newest stops at the first one sent well before `since`."""
        with self._lock:
            self._read_new()
            horizon = since - _longest_s(self.timeout_s)
            recent: list[dict[str, Any]] = []
            for record in reversed(self._records):
                if record["sent_at"] < horizon:
                    break
                if record["sent_at"] >= since:
                    recent.append(record)
            return recent[::-1]

    def _read_new(self) -> None:
        with open(self.records_path, "rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        self._records.extend(orjson.loads(line) for line in complete.splitlines() if line.strip())

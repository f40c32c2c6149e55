"""Locust as a subprocess: closed-loop users at a target rate, every request recorded.

Locust runs in its own process (`python -m locust --headless`), so gevent's
monkey-patching never reaches the harness. Its users record every request
(see `locustfile.py`) in `<workdir>/records.jsonl`; Locust's own totals in
`<workdir>/locust_stats.csv` are kept as a cross-check.

A user waits for its answer before the next request, so during an outage each
user sends at most one request per timeout: size `users >= rate * timeout_s`
to keep the target rate while the stack hangs. `ProbeStream` is the open-loop
alternative.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn
from urllib.parse import urlsplit

from harness.errors import BadInput, InfrastructureError
from harness.load.child import die_with_parent
from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
STDERR_TAIL_LINES = 20
# Locust's stop after SIGTERM: in-flight requests (up to the timeout), one more CSV write, exit.
STOP_OVERHEAD_S = 5.0


class LocustRun:
    """`users` Locust users sending `rate` requests/s in total (0: unthrottled) to the entry point.

    `run_time_s` bounds the run even if the harness dies without calling `stop()`.
    With `users == 0` there is no Locust at all: start and stop do nothing, no records.
    """

    def __init__(
        self,
        entry: EntryPoint,
        workdir: Path,
        users: int,
        rate: float,
        run_time_s: float = 3600.0,
        timeout_s: float = 2.0,
        spawn_rate: float | None = None,
        record: bool = True,
        start_timeout_s: float = 30.0,
    ) -> None:
        self.entry = replace(entry, payloads=entry.payloads.resolve())  # Locust runs in `workdir`
        self.host = entry.base_url
        self.workdir = workdir.resolve()  # Locust runs in it: relative paths would not survive
        self.users = users
        self.rate = rate
        self.run_time_s = run_time_s
        self.timeout_s = timeout_s
        self.spawn_rate = spawn_rate or max(users, 1)
        self.record = record
        self.start_timeout_s = start_timeout_s
        self.stop_grace_s = timeout_s + STOP_OVERHEAD_S
        self.records_path = self.workdir / "records.jsonl"
        self.csv_prefix = self.workdir / "locust"
        self.stdout_path = self.workdir / "locust.stdout.log"
        self.stderr_path = self.workdir / "locust.stderr.log"
        self._ready_path = self.workdir / "locust.ready"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> LocustRun:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start Locust and return once its test has started (users are being spawned)."""
        if self.users == 0:
            return
        if self._proc is not None:
            raise RuntimeError("this LocustRun was already started")
        if not _valid_host(self.host):
            # Locust does not check --host: a bad one only shows up as failing requests, or none
            raise BadInput(f"bad host URL '{self.host}'", "use e.g. http://127.0.0.1:8080")
        load_payloads(self.entry.payloads)  # a bad file is the user's mistake, reported as such here
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._ready_path.unlink(missing_ok=True)
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self._proc = subprocess.Popen(
                self._command(),
                cwd=self.workdir,  # keeps Locust from reading a locust.conf / pyproject.toml of the caller's
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C on the harness reaches Locust through stop() only
                preexec_fn=die_with_parent,  # ...and Locust never outlives a killed harness
            )
        self._await_ready()

    def stop(self) -> None:
        """SIGTERM (Locust lets in-flight requests finish and writes its stats), SIGKILL
        after `stop_grace_s`; the process is always reaped. Safe to call twice.

        Not SIGINT: gevent raises its KeyboardInterrupt in whichever greenlet runs, which
        can be a user between Locust counting a request and recording it. Locust handles
        SIGTERM in a greenlet of its own, so the records match its counts exactly.
        """
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=self.stop_grace_s)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def records(self) -> list[dict[str, Any]]:
        """Every request recorded so far (complete after `stop()`), by send time.

        Locust flushes the file every 0.5 s, so the last line may be cut short while
        it runs (or if it was killed); such a line is left out.
        """
        if self.users == 0 or not self.records_path.exists():
            return []
        lines = self.records_path.read_text(encoding="utf-8", errors="replace").split("\n")
        records = [json.loads(line) for line in lines[:-1] if line]  # lines[-1] is "" or cut short
        return sorted(records, key=lambda record: record["sent_at"])

    def locust_stats(self) -> dict[str, float | None]:
        """Locust's own totals (Aggregated row of its stats CSV): requests, failures,
        median/p95/p99 response time in ms (None without requests) and requests/s."""
        if self.users == 0:
            return {"requests": 0, "failures": 0, "median_ms": None, "p95_ms": None, "p99_ms": None, "rps": 0.0}
        path = Path(f"{self.csv_prefix}_stats.csv")
        try:
            with path.open(newline="") as handle:
                row = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
        except (OSError, StopIteration) as error:
            raise InfrastructureError(
                f"no Locust totals in {path}", f"Locust may have been killed; see {self.stderr_path}"
            ) from error
        return {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "median_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]),
            "p99_ms": _number(row["99%"]),
            "rps": float(row["Requests/s"]),
        }

    def _command(self) -> list[str]:
        return [
            *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"),
            *("-u", str(self.users), "-r", f"{self.spawn_rate:g}", "--host", self.host),
            *("--run-time", f"{math.ceil(self.run_time_s)}s", "--stop-timeout", f"{math.ceil(self.timeout_s) + 1}s"),
            *("--csv", str(self.csv_prefix)),
        ]

    def _env(self) -> dict[str, str]:
        """The harness's environment without LOCUST_* (Locust reads options from those,
        e.g. LOCUST_PROCESSES) plus the locustfile's settings."""
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("LOCUST_")}
        return inherited | {
            "FAILOVER_ENTRY": self.entry.to_json(),
            "FAILOVER_RATE": f"{self.rate:g}",
            "FAILOVER_USERS": str(self.users),
            "FAILOVER_TIMEOUT": f"{self.timeout_s:g}",
            "FAILOVER_RECORDS": str(self.records_path),
            "FAILOVER_RECORD": "1" if self.record else "0",
            "FAILOVER_READY_FILE": str(self._ready_path),
        }

    def _await_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout_s
        while not self._ready_path.exists():
            if self._proc.poll() is not None:
                self._fail(f"Locust exited with code {self._proc.returncode} before its test started")
            if time.monotonic() > deadline:
                self.stop()
                self._fail(f"Locust did not start its test within {self.start_timeout_s:g} s")
            time.sleep(0.05)

    def _fail(self, what: str) -> NoReturn:
        tail = self.stderr_path.read_text(errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        raise InfrastructureError(
            f"{what}; the end of its stderr:\n" + "\n".join(tail),
            f"full output in {self.stderr_path} and {self.stdout_path}",
        )


def _valid_host(host: str) -> bool:
    try:
        parts = urlsplit(host)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number in 0-65535, a broken IPv6 address
        return False


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None

"""Locust as a subprocess: closed-loop users at a target rate, every request recorded.

Locust runs in its own process (`python -m locust --headless`), so gevent's
monkey-patching never reaches the harness. Its users record every request
(see `locustfile.py`) in `<workdir>/records.jsonl`; Locust's own totals in
`<workdir>/locust_stats.csv` are kept as a cross-check.

With `workers`, it is Locust's own distributed mode instead: a master (totals,
no users) and that many worker processes here, each recording its users in
`<workdir>/records-worker<N>.jsonl`; workers on other machines can join
(`remote_workers`, `harness/load/locust_worker.py`) and send their records to the
master, which writes them to `<workdir>/records-<worker id>.jsonl`. `records()`
merges them all.

A user waits for its answer before the next request, so during an outage each
user sends at most one request per timeout: size `users >= rate * timeout_s`
to keep the target rate while the stack hangs. `ProbeStream` is the open-loop
alternative.
"""

from __future__ import annotations

import csv
import math
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn
from urllib.parse import urlsplit

import orjson

from harness.errors import BadInput, InfrastructureError
from harness.load.child import die_with_parent
from harness.load.entry import EntryPoint
from harness.load.locust_worker import LOCUSTFILE, RECORDS_GLOB, locust_env, worker_command
from harness.load.payloads import load_payloads

STDERR_TAIL_LINES = 20
# Locust's stop after SIGTERM: in-flight requests (up to the timeout), one more CSV write, exit.
STOP_OVERHEAD_S = 5.0
REMOTE_JOIN_S = 120.0
"""Extra start time with remote workers: someone starts them by hand once the run has begun."""


class LocustRun:
    """`users` Locust users sending `rate` requests/s in total (0: unthrottled) to the entry point.

    `run_time_s` bounds the run even if the harness dies without calling `stop()`.
    With `users == 0` there is no Locust at all: start and stop do nothing, no records.
    `workers` > 0: a master and that many workers here, plus `remote_workers` joining from
    elsewhere; the master listens on `master_bind`:`master_port` (None: a free port).
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
        workers: int = 0,
        remote_workers: int = 0,
        master_bind: str = "127.0.0.1",
        master_port: int | None = None,
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
        self.start_timeout_s = start_timeout_s + (REMOTE_JOIN_S if remote_workers else 0.0)
        self.stop_grace_s = timeout_s + STOP_OVERHEAD_S
        self.workers = workers
        self.remote_workers = remote_workers
        self.master_bind = master_bind
        self.master_port = master_port
        self.records_path = self.workdir / "records.jsonl"
        self.csv_prefix = self.workdir / "locust"
        self.stdout_path = self.workdir / "locust.stdout.log"
        self.stderr_path = self.workdir / "locust.stderr.log"
        self._ready_path = self.workdir / "locust.ready"
        self._proc: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes]] = []

    @property
    def expected_workers(self) -> int:
        """Workers the master waits for: started here and joining from elsewhere."""
        return self.workers + self.remote_workers

    @property
    def distributed(self) -> bool:
        return self.expected_workers > 0

    @property
    def pid(self) -> int | None:
        """The Locust process: the only one, or the master."""
        return self._proc.pid if self._proc else None

    @property
    def pids(self) -> list[int]:
        """Every Locust process started here: the master (or the only one) and the workers."""
        return [proc.pid for proc in self._processes()]

    def __enter__(self) -> LocustRun:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start Locust and return once its test has started (users are being spawned;
        distributed: once every worker has connected to the master)."""
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
        if self.distributed:
            for stale in self.workdir.glob(RECORDS_GLOB):  # an earlier run's workers' records
                if stale.is_file():
                    stale.unlink()
            self.master_port = self.master_port or _free_port(self.master_bind)
        self._proc = self._spawn(self._command(), self._env(), self.stdout_path, self.stderr_path)
        try:
            for index in range(self.workers):
                self._workers.append(self._spawn_worker(index))
        except OSError:
            self._reap()
            raise
        self._await_ready()

    def _spawn_worker(self, index: int) -> subprocess.Popen[bytes]:
        """Worker `index` on this machine, recording in its own file; its master sends it the settings."""
        env = locust_env(self._records_env(self.workdir / f"records-worker{index}.jsonl"))
        out, err = (self._worker_log(index, name) for name in ("stdout", "stderr"))
        return self._spawn(worker_command(self._worker_host(), self.master_port or 0), env, out, err)

    def _worker_log(self, index: int, stream: str) -> Path:
        return self.workdir / f"locust-worker{index}.{stream}.log"

    def _spawn(
        self, command: list[str], env: dict[str, str], stdout_path: Path, stderr_path: Path
    ) -> subprocess.Popen[bytes]:
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            return subprocess.Popen(
                command,
                cwd=self.workdir,  # keeps Locust from reading a locust.conf / pyproject.toml of the caller's
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C on the harness reaches Locust through stop() only
                preexec_fn=die_with_parent,  # ...and Locust never outlives a killed harness
            )

    def stop(self) -> None:
        """SIGTERM (Locust lets in-flight requests finish and writes its stats), SIGKILL
        after `stop_grace_s`; the process is always reaped. Safe to call twice.

        Not SIGINT: gevent raises its KeyboardInterrupt in whichever greenlet runs, which
        can be a user between Locust counting a request and recording it. Locust handles
        SIGTERM in a greenlet of its own, so the records match its counts exactly.

        Distributed: the master first (it stops its workers and takes their last
        statistics, then tells them to quit), then the workers the same way. A worker
        that had exited while the master still ran is an InfrastructureError, raised
        once everything is reaped (not its exit code: Locust exits 1 after failed requests).
        """
        if self._proc is None:
            return
        died = [worker for worker in self._workers if worker.poll() is not None] if self._proc.poll() is None else []
        self._reap()
        if died:
            self._worker_failed(self._workers.index(died[0]), "during the run: load was short")

    def _reap(self) -> None:
        if self._proc is None:
            return
        try:
            _terminate([self._proc], self.stop_grace_s)
        finally:
            _terminate(self._workers, self.stop_grace_s)

    def records(self) -> list[dict[str, Any]]:
        """Every request recorded so far (complete after `stop()`), by send time.

        Locust flushes the file every 0.5 s, so the last line may be cut short while
        it runs (or if it was killed); such a line is left out.
        """
        if self.users == 0:
            return []
        paths = sorted(self.workdir.glob(RECORDS_GLOB)) if self.distributed else [self.records_path]
        records = [record for path in paths if path.exists() for record in _read_records(path)]
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
        """The only Locust process, or the master (with every option but the locustfile's)."""
        command = [
            *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"),
            *("-u", str(self.users), "-r", f"{self.spawn_rate:g}", "--host", self.host),
            *("--run-time", f"{math.ceil(self.run_time_s)}s", "--stop-timeout", f"{math.ceil(self.timeout_s) + 1}s"),
            *("--csv", str(self.csv_prefix)),
        ]
        if self.distributed:
            command += [
                *("--master", "--master-bind-host", self.master_bind, "--master-bind-port", str(self.master_port)),
                *("--expect-workers", str(self.expected_workers)),  # waits: start() has the deadline
            ]
        return command

    def _settings(self) -> dict[str, str]:
        """The run's settings for the locustfile: in the environment of the only process or the
        master, which passes them on to its workers."""
        return {
            "FAILOVER_ENTRY": self.entry.to_json(),
            "FAILOVER_RATE": f"{self.rate:g}",
            "FAILOVER_USERS": str(self.users),
            "FAILOVER_TIMEOUT": f"{self.timeout_s:g}",
            "FAILOVER_RECORD": "1" if self.record else "0",
        }

    def _env(self) -> dict[str, str]:
        """The only process's or the master's environment: the locustfile's settings (a master
        passes them on to its workers). A master has no users to record: it writes the records
        workers elsewhere send into the workdir."""
        own = self._settings() | {"FAILOVER_READY_FILE": str(self._ready_path)}
        if self.distributed:
            return locust_env(own | {"FAILOVER_WORKER_RECORDS": str(self.workdir)})
        return locust_env(own | self._records_env(self.records_path))

    def _records_env(self, path: Path) -> dict[str, str]:
        """Where a process records its users' requests: nowhere if this run records nothing."""
        return {"FAILOVER_RECORDS": str(path)} if self.record else {}

    def _worker_host(self) -> str:
        """Where workers here reach the master: a wildcard bind is reachable on loopback."""
        return "127.0.0.1" if self.master_bind in ("0.0.0.0", "*", "") else self.master_bind

    def _await_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout_s
        while not self._ready_path.exists():
            for index, worker in enumerate(self._workers):
                if worker.poll() is not None:
                    self._reap()
                    self._worker_failed(index, "before the test started")
            if self._proc.poll() is not None:
                self._reap()
                self._fail(f"Locust exited with code {self._proc.returncode} before its test started")
            if time.monotonic() > deadline:
                self._reap()
                waiting = f" (its master waits for {self.expected_workers} workers)" if self.distributed else ""
                self._fail(f"Locust did not start its test within {self.start_timeout_s:g} s{waiting}")
            time.sleep(0.05)

    def _processes(self) -> list[subprocess.Popen[bytes]]:
        return [*([self._proc] if self._proc else []), *self._workers]

    def _worker_failed(self, index: int, when: str) -> NoReturn:
        code = self._workers[index].returncode
        self._fail(f"Locust worker {index} exited with code {code} {when}", self._worker_log(index, "stderr"))

    def _fail(self, what: str, stderr_path: Path | None = None) -> NoReturn:
        stderr_path = stderr_path or self.stderr_path
        tail = stderr_path.read_text(errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        raise InfrastructureError(
            f"{what}; the end of its stderr:\n" + "\n".join(tail),
            f"full output in {stderr_path} and the other locust*.log files in {self.workdir}",
        )


def _terminate(procs: list[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM to each, SIGKILL to those still running after `grace_s`; all are reaped."""
    deadline = time.monotonic() + grace_s
    try:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _read_records(path: Path) -> list[dict[str, Any]]:
    """The records of one file; Locust flushes every 0.5 s, so its last line may be cut short."""
    lines = path.read_bytes().split(b"\n")
    return [orjson.loads(line) for line in lines[:-1] if line]  # lines[-1] is b"" or cut short


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind(("" if host in ("0.0.0.0", "*") else host, 0))
        return int(sock.getsockname()[1])


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

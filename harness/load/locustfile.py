"""The Locust side of the harness: one user class, every request recorded.

Run by `LocustRun` in a process of its own (gevent stays out of the harness)
and configured from the environment:

- FAILOVER_ENTRY: the target's entry point as JSON (`harness/load/entry.py`: URL, method,
  payload file, headers);
- FAILOVER_RATE, FAILOVER_USERS: total target rate in requests/s, spread evenly over the
  users with `constant_throughput`; a rate of 0 means unthrottled. Both are the totals of
  the whole run, also in a worker of a distributed run: each user keeps RATE / USERS
  wherever the master puts it, so the workers together send RATE;
- FAILOVER_TIMEOUT: connect and read timeout per request in seconds (default 2);
- FAILOVER_RECORDS: the JSON-lines file (truncated at start) every request is written to,
  with the fields of a `RequestRecord` (harness/records.py) plus `source: "locust"`;
  FAILOVER_RECORD=0 disables recording (overhead benchmark);
- FAILOVER_READY_FILE: touched once the test starts, so the harness knows load is flowing.

The records file is opened while Locust loads this file, so a records path that
cannot be written stops Locust from starting instead of losing every record.

Distributed (`--master` and `--worker`s, docs/distributed-load.md): each worker records
its own users in its own file and the master records nothing. On SIGTERM the master
first stops its workers and waits for their last statistics, so its CSV counts exactly
the requests the workers recorded, then tells them to quit.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import uuid
from pathlib import Path

import gevent
import orjson
from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.contrib.fasthttp import FastResponse
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads

FLUSH_INTERVAL_S = 0.5
SOURCE = "locust"

log = logging.getLogger(__name__)


class RecordWriter:
    """Buffered JSON lines, flushed every `FLUSH_INTERVAL_S` by a greenlet and at the end. orjson encodes
    a record in about 0.5 us, the standard library's encoder in 7 us: at a saturated process's 5,000
    requests/s that is 3% of its core (tests/benchmarks/locust_bench.py --figures recording).

    A failing write or flush (disk full, ...) is logged and counted; the run goes on.
    """

    def __init__(self, path: Path) -> None:
        self._handle = path.open("wb", buffering=1 << 16)
        self.failures = 0
        self._flusher = gevent.spawn(self._flush_periodically)

    def write(self, record: dict[str, object]) -> None:
        try:
            self._handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        except (OSError, ValueError, TypeError) as error:
            self._failed("write", error)

    def flush(self) -> None:
        try:
            self._handle.flush()
        except (OSError, ValueError) as error:
            self._failed("flush", error)

    def close(self) -> None:
        self._flusher.kill()
        self.flush()
        try:
            self._handle.close()
        except OSError as error:
            self._failed("close", error)

    def _flush_periodically(self) -> None:
        while True:
            gevent.sleep(FLUSH_INTERVAL_S)
            self.flush()

    def _failed(self, action: str, error: Exception) -> None:
        self.failures += 1
        if self.failures == 1 or self.failures % 1000 == 0:
            log.warning("request record %s failed (%d so far): %s", action, self.failures, error)


def _writer() -> RecordWriter | None:
    if os.environ.get("FAILOVER_RECORD", "1") == "0":
        return None
    return RecordWriter(Path(os.environ.get("FAILOVER_RECORDS", "records.jsonl")))


ENTRY = EntryPoint.from_json(os.environ["FAILOVER_ENTRY"])
RATE = float(os.environ.get("FAILOVER_RATE", "0"))
USERS = max(1, int(os.environ.get("FAILOVER_USERS", "1")))
TIMEOUT_S = float(os.environ.get("FAILOVER_TIMEOUT", "2"))
PAYLOADS = itertools.cycle(load_payloads(ENTRY.payloads))
WRITER = _writer()


class EntryUser(FastHttpUser):
    """Sends labelled payloads to the entry point; Locust counts as a failure exactly what the record calls not ok."""

    wait_time = constant_throughput(RATE / USERS) if RATE > 0 else constant(0)
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S

    @task
    def call_entry(self) -> None:
        payload = next(PAYLOADS)
        request_id = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", ENTRY.request_id_header: request_id}
        sent_at = time.time()
        started = time.perf_counter()
        with self.client.request(
            ENTRY.method, ENTRY.path, data=payload.content, headers=headers, catch_response=True
        ) as response:
            latency_s = time.perf_counter() - started
            ok, prediction, error = _outcome(response)
            if not ok and 200 <= response.status_code < 300:
                response.failure(error)  # Locust fails bad statuses and errors by itself
        if WRITER is not None:
            WRITER.write(_record(response, sent_at, latency_s, request_id, prediction, payload.label, ok, error))


def _outcome(response: FastResponse) -> tuple[bool, int | None, str]:
    """(ok, prediction, error), as `PredictionClient.send` would say."""
    if response.status_code == 0:
        error = getattr(response, "error", None)
        return False, None, type(getattr(error, "original", None) or error).__name__  # a timeout: RetriesExceeded
    return ENTRY.answer(response.status_code, response.content or b"")


def _record(
    response: FastResponse,
    sent_at: float,
    latency_s: float,
    request_id: str,
    prediction: int | None,
    label: int | None,
    ok: bool,
    error: str,
) -> dict[str, object]:
    """The fields of a `RequestRecord` plus `source`, as a plain dict: building the
    frozen dataclass first would cost as much again as everything else here."""
    served_by, version, degraded, answered_id = ENTRY.identity(response.headers or {}, request_id)
    return {
        "sent_at": sent_at,
        "latency_s": latency_s,
        "ok": ok,
        "status": response.status_code,
        "error": error,
        "served_by": served_by,
        "model_version": version,
        "degraded": degraded,
        "request_id": answered_id,
        "prediction": prediction,
        "label": label,
        "source": SOURCE,
    }


@events.test_start.add_listener
def _announce_start(**_kwargs: object) -> None:
    if ready_file := os.environ.get("FAILOVER_READY_FILE"):
        Path(ready_file).touch()


@events.test_stop.add_listener
def _final_flush(environment: Environment, **_kwargs: object) -> None:
    """Runs once every user has stopped, so the records file is complete after it.

    Locust rewrites *_stats.csv every CSV_STATS_INTERVAL_SEC but not at exit; waiting
    one interval lets the CSV hold the final totals the records are checked against.
    """
    if WRITER is not None:
        WRITER.flush()
    if isinstance(environment.runner, WorkerRunner):
        # before its "client_stopped": the master's totals include every request recorded here
        environment.runner._send_stats()  # Locust's own final report comes at quit only: too late
    options = environment.parsed_options
    if options is not None and options.csv_prefix:
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)


@events.quitting.add_listener
def _stop_workers_first(environment: Environment, **_kwargs: object) -> None:
    """On the master: stop the workers (their users finish, their final statistics
    arrive, `_final_flush` writes the CSV), then tell them to quit.

    Locust's own quit stops the master first and gives its workers 0.5 s, which loses
    the statistics of requests still in flight and leaves its CSV a second behind."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        workers = [worker.id for worker in runner.clients.all]
        runner.stop()  # returns once the workers report no users, after test_stop
        for worker in workers:
            runner.send_message("quit", client_id=worker)


@events.quit.add_listener
def _close_records(**_kwargs: object) -> None:
    if WRITER is not None:
        WRITER.close()

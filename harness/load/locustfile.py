"""The Locust side of the harness: one user class, every request recorded.

Run by `LocustRun` in a process of its own (gevent stays out of the harness). The only
process, or the master of a distributed run, takes the run's settings from the environment:

- FAILOVER_ENTRY: the target's entry point as JSON (`harness/load/entry.py`: URL, method,
  payload file, headers);
- FAILOVER_RATE, FAILOVER_USERS: total target rate in requests/s, spread evenly over the
  users with `constant_throughput`; a rate of 0 means unthrottled. Both are the totals of
  the whole run, also in a worker of a distributed run: each user keeps RATE / USERS
  wherever the master puts it, so the workers together send RATE;
- FAILOVER_TIMEOUT: connect and read timeout per request in seconds (default 2);
- FAILOVER_RECORD=0: the run records nothing (overhead benchmark);
- FAILOVER_READY_FILE: touched once the test starts, so the harness knows load is flowing.

A process with users records them in FAILOVER_RECORDS when it is set: the JSON-lines file
(truncated at start) every request is written to, with the fields of a `RequestRecord`
(harness/records.py) plus `source: "locust"`. The file is opened while Locust loads this
file, so a records path that cannot be written stops Locust from starting instead of
losing every record.

Distributed (`--master` and `--worker`s, docs/distributed-load.md): workers have no
settings of their own. The master puts the settings and its payload file's text in a
parsed option (`--failover-run`, set in code: the text can be too long for a command
line); Locust sends a locustfile's own options to each worker with the test's start and
sets them before the worker's `test_start`, where the worker takes them. A worker started
by the harness next to the master writes its FAILOVER_RECORDS file; one without (`failover
load-worker`, on another machine) sends its records to the master in `failover_records`
messages, which the master appends to `<FAILOVER_WORKER_RECORDS>/records-<worker id>.jsonl`.
The master records nothing of its own. On SIGTERM it first stops its workers and waits
for them (their last records and statistics arrive before the `client_stopped` that ends
the wait), so its CSV counts exactly the requests recorded, then tells them to quit.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import time
import uuid
from argparse import SUPPRESS
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import gevent
import orjson
from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.argument_parser import LocustArgumentParser
from locust.contrib.fasthttp import FastResponse
from locust.env import Environment
from locust.exception import RPCError
from locust.rpc import Message
from locust.runners import MasterRunner, Runner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from harness.errors import EXIT_BAD_INPUT
from harness.load.entry import EntryPoint
from harness.load.payloads import Payload, load_payloads, parse_payloads

FLUSH_INTERVAL_S = 0.5
SOURCE = "locust"
SETTINGS = ("FAILOVER_ENTRY", "FAILOVER_RATE", "FAILOVER_USERS", "FAILOVER_TIMEOUT", "FAILOVER_RECORD")
"""The run's settings: environment variables of the only process or the master, passed on to workers."""
RUN_OPTION = "failover_run"
"""The master's parsed option Locust sends to its workers: {"settings": {...}, "payloads": text}."""
RECORDS_MESSAGE = "failover_records"
"""A batch of records from a worker elsewhere to its master: {"lines": JSON lines}."""

log = logging.getLogger(__name__)


class Output(Protocol):
    """Where a `RecordWriter` puts its lines: a binary file, or a worker's `MasterStream`."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class RecordWriter:
    """Buffered JSON lines into a file or a `MasterStream`, flushed every `FLUSH_INTERVAL_S` by a greenlet and
    at the end. orjson encodes a record in about 0.5 us, the standard library's encoder in 7 us: at a saturated
    process's 5,000 requests/s that is 3% of its core (tests/benchmarks/locust_bench.py --figures recording).

    A failing write or flush (disk full, ...) is logged and counted; the run goes on.
    """

    def __init__(self, out: Output) -> None:
        self._out = out
        self.failures = 0
        self._flusher = gevent.spawn(self._flush_periodically)

    @classmethod
    def to_file(cls, path: Path) -> RecordWriter:
        return cls(path.open("wb", buffering=1 << 16))

    def write(self, record: dict[str, object]) -> None:
        try:
            self._out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        except (OSError, ValueError, TypeError) as error:
            self._failed("write", error)

    def write_lines(self, lines: bytes) -> None:
        """Records encoded elsewhere, one a line: on a master, a worker's batch."""
        try:
            self._out.write(lines)
        except (OSError, ValueError) as error:
            self._failed("write", error)

    def flush(self) -> None:
        try:
            self._out.flush()
        except (OSError, ValueError) as error:
            self._failed("flush", error)

    def close(self) -> None:
        self._flusher.kill()
        self.flush()
        try:
            self._out.close()
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


class MasterStream:
    """A worker's records, sent to its master: `write` buffers, `flush` sends the buffer as one message.

    The messages share the worker's connection with its statistics and `client_stopped`; ZeroMQ keeps
    their order and the master handles them one at a time, so the batch flushed at test stop is in the
    master's file before the master counts this worker as stopped. A batch that cannot be sent stays
    buffered for the next flush (ZeroMQ queues a message whole or not at all: nothing is sent twice).
    """

    def __init__(self, runner: WorkerRunner) -> None:
        self._runner = runner
        self._buffer = bytearray()

    def write(self, data: bytes, /) -> None:
        self._buffer += data

    def flush(self) -> None:
        if not self._buffer:
            return
        batch = bytes(self._buffer)
        self._buffer.clear()  # before sending: Locust retries a send with sleeps, users may write meanwhile
        try:
            self._runner.send_message(RECORDS_MESSAGE, {"lines": batch})
        except RPCError as error:
            self._buffer[:0] = batch
            raise OSError(f"cannot send records to the master: {error}") from error

    def close(self) -> None:
        self.flush()


ENTRY: EntryPoint
PAYLOADS: Iterator[Payload]
WRITER = RecordWriter.to_file(Path(os.environ["FAILOVER_RECORDS"])) if "FAILOVER_RECORDS" in os.environ else None
"""This process's users' records; a worker without a records file gets one sending to its master at test start."""
RECEIVED: dict[str, RecordWriter] = {}
"""On a master: the records each worker elsewhere sent, by its Locust client id."""


class EntryUser(FastHttpUser):
    """Sends labelled payloads to the entry point; Locust counts as a failure exactly what the record calls not ok.

    Its wait time and timeouts are the run's, set by `_configure` before any user starts."""

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


def _configure(settings: Mapping[str, str], payloads_text: str | None = None) -> None:
    """Aims the users at the run's entry point and rate: in the only process or the master when
    Locust loads this file, in a worker at each test start, from the master's `payloads_text`."""
    global ENTRY, PAYLOADS
    ENTRY = EntryPoint.from_json(settings["FAILOVER_ENTRY"])
    origin = f"the master's {ENTRY.payloads}"
    payloads = load_payloads(ENTRY.payloads) if payloads_text is None else parse_payloads(payloads_text, origin)
    PAYLOADS = itertools.cycle(payloads)
    rate = float(settings.get("FAILOVER_RATE", "0"))
    users = max(1, int(settings.get("FAILOVER_USERS", "1")))
    EntryUser.wait_time = constant_throughput(rate / users) if rate > 0 else constant(0)
    EntryUser.network_timeout = EntryUser.connection_timeout = float(settings.get("FAILOVER_TIMEOUT", "2"))


if "FAILOVER_ENTRY" in os.environ:  # the only process or a master; a worker gets its master's at test start
    _configure(os.environ)


@events.init_command_line_parser.add_listener
def _add_run_option(parser: LocustArgumentParser, **_kwargs: object) -> None:
    parser.add_argument(f"--{RUN_OPTION.replace('_', '-')}", help=SUPPRESS, include_in_web_ui=False)


@events.init.add_listener
def _lead_workers(environment: Environment, runner: Runner, **_kwargs: object) -> None:
    """On a master: the run's settings go to the workers with the test's start, and records
    come back from workers elsewhere."""
    if not isinstance(runner, MasterRunner):
        return
    assert environment.parsed_options is not None  # Locust's main parsed them
    settings = {name: os.environ[name] for name in SETTINGS if name in os.environ}
    setattr(environment.parsed_options, RUN_OPTION, {"settings": settings, "payloads": ENTRY.payloads.read_text()})
    folder = Path(os.environ["FAILOVER_WORKER_RECORDS"])
    runner.register_message(RECORDS_MESSAGE, functools.partial(_receive_records, folder))
    # Locust fires `quitting` in reverse order: added after the runner's own listener (which quits
    # at once), this one runs first
    environment.events.quitting.add_listener(_stop_workers_first)


def _receive_records(folder: Path, msg: Message, **_kwargs: object) -> None:
    """On a master: a worker's batch, appended to that worker's file. Locust's message loop calls
    this for one message at a time, in the order the worker sent them."""
    writer = RECEIVED.get(msg.node_id)
    if writer is None:
        name = re.sub(r"[^\w.-]", "_", msg.node_id)  # hostname_hex: keeps it a file name
        writer = RECEIVED[msg.node_id] = RecordWriter.to_file(folder / f"records-{name}.jsonl")
    writer.write_lines(msg.data["lines"])


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: object) -> None:
    if isinstance(environment.runner, WorkerRunner):
        _join_run(environment, environment.runner)
    if ready_file := os.environ.get("FAILOVER_READY_FILE"):
        Path(ready_file).touch()


def _join_run(environment: Environment, runner: WorkerRunner) -> None:
    """On a worker: the settings its master sent with the test's start. A master that sends none
    runs some other locustfile (or an older harness): this worker says so and quits."""
    global WRITER
    run: dict[str, Any] | None = getattr(environment.parsed_options, RUN_OPTION, None)
    if run is None:
        log.error(
            "the Locust master at %s:%s started a test without a failover run's settings: it is not the master"
            " of a `failover` run, or its harness is another version. Give --master-host and --master-port of a"
            " running scenario whose load.remote_workers counts this worker, with the same harness on both machines.",
            runner.master_host,
            runner.master_port,
        )
        environment.process_exit_code = EXIT_BAD_INPUT
        runner.quit()  # ends this greenlet too: no user starts
        return
    _configure(run["settings"], run["payloads"])
    if WRITER is None and run["settings"].get("FAILOVER_RECORD", "1") == "1":
        WRITER = RecordWriter(MasterStream(runner))


def _writers() -> list[RecordWriter]:
    return [*([WRITER] if WRITER else []), *RECEIVED.values()]


@events.test_stop.add_listener
def _final_flush(environment: Environment, **_kwargs: object) -> None:
    """Runs once every user has stopped, so the records are complete after it: in their files, or
    sent to the master ahead of this worker's last statistics and its `client_stopped`.

    Locust rewrites *_stats.csv every CSV_STATS_INTERVAL_SEC but not at exit; waiting
    one interval lets the CSV hold the final totals the records are checked against.
    """
    for writer in _writers():
        writer.flush()
    if isinstance(environment.runner, WorkerRunner):
        # before its "client_stopped": the master's totals include every request recorded here
        environment.runner._send_stats()  # Locust's own final report comes at quit only: too late
    options = environment.parsed_options
    if options is not None and options.csv_prefix:
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)


def _stop_workers_first(environment: Environment, **_kwargs: object) -> None:
    """On the master: stop the workers (their users finish, their last records and statistics
    arrive, `_final_flush` writes the CSV), then tell them to quit.

    Locust's own quit stops the master first and gives its workers 0.5 s, which loses
    the statistics and records of requests still in flight and leaves its CSV behind."""
    runner = environment.runner
    assert isinstance(runner, MasterRunner)
    workers = [worker.id for worker in runner.clients.all]
    runner.stop()  # returns once the workers report no users, after test_stop
    for worker in workers:
        runner.send_message("quit", client_id=worker)


@events.quit.add_listener
def _close_records(**_kwargs: object) -> None:
    for writer in _writers():
        writer.close()

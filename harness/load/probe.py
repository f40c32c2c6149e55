"""An open-loop request stream: one request every 1/rate seconds, whatever the stack does.

Closed-loop clients stop sampling exactly when the stack hangs (coordinated
omission). This stream keeps its schedule: each request is sent at its
planned time in a greenlet of its own, with a short timeout, so an outage is
sampled as densely as steady state. Every request becomes a `RequestRecord`;
how late each one started against its plan goes to a `ScheduleLog`.

Greenlets on one gevent hub (with geventhttpclient, as Locust's FastHttpUser)
rather than a thread per request: when the stack slows down, hundreds of
requests are in flight, and a thread each made the client itself the
bottleneck (GIL contention on 2 cores: probe latency kept climbing after the
stack had recovered, while Locust's stayed flat).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable

import gevent
import gevent.pool
from geventhttpclient import HTTPClient

from harness.load.entry import EntryPoint
from harness.load.fresh_pool import use_fresh_connections
from harness.load.payloads import Payload
from harness.load.schedule import ScheduleLog
from harness.records import RequestRecord


class PredictionClient:
    """Sends payloads to the target's entry point over a pool of `concurrency` keep-alive connections.

    Each socket operation (connect, send, each read) is bounded by `timeout_s`;
    a request is not cut short as a whole, so that its connection always goes
    back to the pool (a killed greenlet would leak it)."""

    def __init__(self, entry: EntryPoint, timeout_s: float, concurrency: int = 1) -> None:
        self.entry = entry
        self.timeout_s = timeout_s
        self._client = use_fresh_connections(
            HTTPClient.from_url(
                entry.base_url, concurrency=concurrency, connection_timeout=timeout_s, network_timeout=timeout_s
            )
        )

    def close(self) -> None:
        self._client.close()

    def send(self, payload: Payload) -> RequestRecord:
        request_id = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", self.entry.request_id_header: request_id}
        sent_at = time.time()
        started = time.perf_counter()
        try:
            response = self._client.request(self.entry.method, self.entry.path, body=payload.content, headers=headers)
            content = response.read()
        except Exception as error:  # noqa: BLE001 - socket errors, timeouts, parse errors: all a failed request
            return RequestRecord(
                sent_at, time.perf_counter() - started, False, 0, type(error).__name__, "", "", False,
                request_id, None, payload.label,
            )
        latency_s = time.perf_counter() - started
        ok, prediction, error = self.entry.answer(response.status_code, content)
        served_by, version, degraded, answered_id = self.entry.identity(response, request_id)
        return RequestRecord(
            sent_at, latency_s, ok, response.status_code, error, served_by, version, degraded,
            answered_id, prediction, payload.label,
        )


class ProbeStream:
    """Sends `rate` requests per second to the entry point until stopped; collects their records.

    The greenlets run on a gevent hub in a thread of its own, so the caller's
    thread stays free (no monkey-patching). With `on_record`, each record is handed to it in that
    thread as its probe completes, and not kept (`records()` returns nothing): a caller that writes
    records out then needs no thread of its own serialising batches while holding the GIL, and the
    heap does not grow with the run. Kept records made every full garbage collection, which stops
    the hub and so the probes, longer: 19 ms with 60,000 records, 156 ms with 600,000 (1 and 10
    minutes at 1,000 probes/s; docs/probe-resolution.md)."""

    def __init__(
        self,
        entry: EntryPoint,
        payloads: list[Payload],
        rate: float = 100.0,
        timeout_s: float = 1.0,
        on_record: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.entry = entry
        self.interval_s = 1.0 / rate
        self.timeout_s = timeout_s
        self.concurrency = max(4, int(rate * timeout_s * 3) + 2)
        """Enough connections for every request in flight while each waits up to ~3 timeouts."""
        self._payloads = itertools.cycle(payloads)
        self._on_record = on_record
        self.schedule = ScheduleLog(rate)
        """Complete once stopped."""
        self._stop = threading.Event()
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="probe-stream", daemon=True)

    def __enter__(self) -> ProbeStream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> list[RequestRecord]:
        """Stop sending; wait for the requests in flight; every record."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.records()

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return sorted(self._records, key=lambda record: record.sent_at)

    def _run(self) -> None:
        client = PredictionClient(self.entry, self.timeout_s, self.concurrency)
        in_flight = gevent.pool.Group()
        try:
            start, planned = time.perf_counter(), 0
            while not self._stop.is_set():
                in_flight.spawn(self._send, client, next(self._payloads), start + planned * self.interval_s)
                planned += 1
                gevent.sleep(max(0.0, start + planned * self.interval_s - time.perf_counter()))
            self.schedule.stopped(time.perf_counter() - (start + planned * self.interval_s))
            in_flight.join()
        finally:
            client.close()

    def _send(self, client: PredictionClient, payload: Payload, planned_at: float) -> None:
        """`planned_at` on the perf_counter clock: when this probe should have been sent."""
        self.schedule.sent(time.perf_counter() - planned_at)
        record = client.send(payload)
        if self._on_record is not None:
            self._on_record(record)
            return
        with self._lock:
            self._records.append(record)

"""An open-loop request stream: one request every 1/rate seconds, whatever the stack does.

Closed-loop clients stop sampling exactly when the stack hangs (coordinated
omission). This stream keeps its schedule: each request is sent at its
planned time on a worker thread, with a short timeout, so an outage is
sampled as densely as steady state. Every request becomes a `RequestRecord`.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from harness.load.payloads import Payload


@dataclass(frozen=True)
class RequestRecord:
    """One client request, as DESIGN.md defines it."""

    sent_at: float
    latency_s: float
    ok: bool
    status: int
    error: str
    served_by: str
    model_version: str
    degraded: bool
    request_id: str
    prediction: int | None
    label: int | None
    source: str = "probe"


def send_prediction(client: httpx.Client, url: str, payload: Payload, timeout_s: float) -> RequestRecord:
    request_id = uuid.uuid4().hex
    sent_at = time.time()
    started = time.perf_counter()
    try:
        response = client.post(
            f"{url}/predict", json=payload.body(), headers={"X-Request-Id": request_id}, timeout=timeout_s
        )
    except httpx.HTTPError as error:
        return RequestRecord(
            sent_at, time.perf_counter() - started, False, 0, type(error).__name__, "", "", False,
            request_id, None, payload.label,
        )
    latency = time.perf_counter() - started
    prediction = _prediction(response)
    headers = response.headers
    return RequestRecord(
        sent_at=sent_at,
        latency_s=latency,
        ok=response.is_success and prediction is not None,
        status=response.status_code,
        error="" if response.is_success else response.text[:200],
        served_by=headers.get("X-Served-By", ""),
        model_version=headers.get("X-Model-Version", ""),
        degraded=headers.get("X-Degraded", "") == "true",
        request_id=headers.get("X-Request-Id", request_id),
        prediction=prediction,
        label=payload.label,
    )


def _prediction(response: httpx.Response) -> int | None:
    try:
        value = response.json().get("prediction")
    except ValueError:
        return None
    return value if isinstance(value, int) else None


class ProbeStream:
    """Sends `rate` requests per second to `url` until stopped; collects their records."""

    def __init__(self, url: str, payloads: list[Payload], rate: float = 100.0, timeout_s: float = 1.0) -> None:
        self.url = url
        self.interval_s = 1.0 / rate
        self.timeout_s = timeout_s
        self._payloads = itertools.cycle(payloads)
        self._stop = threading.Event()
        self._records: list[RequestRecord] = []
        self._drained: list[RequestRecord] = []
        self._lock = threading.Lock()
        workers = max(4, int(rate * timeout_s) + 2)  # enough for every request in flight during an outage
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
        self._client = httpx.Client(limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers))
        self._scheduler = threading.Thread(target=self._schedule, daemon=True)

    def __enter__(self) -> ProbeStream:
        self._scheduler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> list[RequestRecord]:
        self._stop.set()
        if self._scheduler.is_alive():
            self._scheduler.join()
        self._pool.shutdown(wait=True)
        self._client.close()
        return self.records()

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return sorted([*self._drained, *self._records], key=lambda record: record.sent_at)

    def drain(self) -> list[RequestRecord]:
        """Records completed since the last drain (in completion order); `records()` still has them all."""
        with self._lock:
            fresh, self._records = self._records, []
            self._drained.extend(fresh)
        return fresh

    def _schedule(self) -> None:
        next_at = time.perf_counter()
        while not self._stop.is_set():
            self._pool.submit(self._send, next(self._payloads))
            next_at += self.interval_s
            delay = next_at - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)

    def _send(self, payload: Payload) -> None:
        record = send_prediction(self._client, self.url, payload, self.timeout_s)
        with self._lock:
            self._records.append(record)

"""Golden labelled requests sent to each replica directly, a few per second."""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .config import Address
from .window import Sample

log = logging.getLogger(__name__)
N_FEATURES = 64
MAX_IN_FLIGHT = 16
"""Probes of one replica outstanding at once: rate x probe timeout (10/s x 1 s), with room to spare."""


class GoldenFileError(Exception):
    """The golden request file is unusable; the message names file, line and fix."""


@dataclass(frozen=True)
class Golden:
    body: bytes
    label: int


def load_golden(path: Path) -> list[Golden]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise GoldenFileError(f"{path}: cannot read golden requests: {exc.strerror}") from exc
    golden = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            features, label = item["features"], item["label"]
            valid = isinstance(label, int) and isinstance(features, list) and len(features) == N_FEATURES
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise GoldenFileError(
                f'{path}:{number}: expected {{"features": [{N_FEATURES} numbers], "label": int}}; fix or remove the line'
            )
        golden.append(Golden(json.dumps({"features": features}).encode(), label))
    if not golden:
        raise GoldenFileError(f"{path}: no golden requests; add labelled lines")
    return golden


def probe_once(connection: http.client.HTTPConnection, replica: str, golden: Golden) -> Sample:
    """POST one golden request; any failure is a sample with ok=False, never an exception."""
    started = time.monotonic()
    version, status, shed = None, None, False
    try:
        connection.request(
            "POST",
            "/predict",
            body=golden.body,
            headers={"Content-Type": "application/json", "X-Request-Id": f"guardian-{uuid.uuid4().hex}"},
        )
        response = connection.getresponse()
        payload = response.read()
        status = response.status
        version = response.getheader("X-Model-Version")
        answer = json.loads(payload) if payload else {}
        prediction = answer.get("prediction") if response.status == 200 else None
        shed = response.status == 503 and answer.get("error") == "overloaded"
        ok = isinstance(prediction, int)
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        connection.close()
        ok, prediction = False, None
    latency = time.monotonic() - started
    return Sample(time.time(), replica, version, ok, ok and prediction == golden.label, latency, status, shed)


class ReplicaProber(threading.Thread):
    """Probes one replica at `rate` per second, in a shuffled cycle over the golden requests.

    Open loop: each probe leaves on schedule whether or not the earlier ones came back (up to
    `MAX_IN_FLIGHT`), so a replica too slow to answer is still sampled at the rate, not once per timeout.
    """

    def __init__(
        self,
        replica: str,
        address: Address,
        golden: list[Golden],
        rate: float,
        timeout_s: float,
        sink: Callable[[Sample], None],
    ) -> None:
        super().__init__(name=f"probe-{replica}", daemon=True)
        self._replica = replica
        self._address = address
        self._golden = golden
        self._interval = 1.0 / rate
        self._timeout_s = timeout_s
        self._sink = sink
        self._stopping = threading.Event()
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []

    def run(self) -> None:
        order = list(range(len(self._golden)))
        shuffle = random.Random(self._replica)
        next_at = time.monotonic()
        with ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix=f"probe-{self._replica}") as pool:
            while not self._stopping.is_set():
                shuffle.shuffle(order)
                for index in order:
                    pool.submit(self._probe, self._golden[index])
                    next_at = max(next_at + self._interval, time.monotonic())
                    if self._stopping.wait(max(0.0, next_at - time.monotonic())):
                        break
            for connection in self._connections:
                connection.close()

    def _probe(self, golden: Golden) -> None:
        """On this worker thread's own keep-alive connection (http.client's are not thread-safe)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._address.host, self._address.port, timeout=self._timeout_s)
            self._local.connection = connection
            self._connections.append(connection)
        self._sink(probe_once(connection, self._replica, golden))

    def stop(self) -> None:
        self._stopping.set()

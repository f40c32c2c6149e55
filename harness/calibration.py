"""Calibrating the instrument: a known outage on a path with no redundancy.

Probes go straight through a Toxiproxy proxy to one model server (no gateway,
no second replica), the proxy is disabled for exactly `outage_s`, and the
outage is scored like any fault. The measured RTO should be the outage.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import pandas as pd

from harness import scoring
from harness.faults.hop.partition import Partition
from harness.faults.hop.toxic import toxiproxy_api
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.result import FaultScore, FaultWindow
from harness.scenario import SLOs
from harness.stack import Stack
from harness.targets.reference import ReferenceTarget

CALIBRATION_PROXY = "failover-calibration"


@dataclass(frozen=True)
class Calibration:
    truth_s: tuple[float, float]
    """The true outage, from injection completed: the proxy listened again at some moment
    during the revert call, i.e. between these two (the call's own duration)."""
    score: FaultScore


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def single_path(stack: Stack, service: str = "model-a") -> Iterator[str]:
    """A temporary proxy on loopback straight to `service`; yields its URL."""
    api = toxiproxy_api(stack.endpoints().toxiproxy_url)
    host, port = stack.endpoints().address(service)
    listen = _free_port()
    proxy = api.create(upstream=f"{host}:{port}", name=CALIBRATION_PROXY, listen=f"127.0.0.1:{listen}")
    try:
        yield f"http://127.0.0.1:{listen}"
    finally:
        proxy.destroy()


def measure_known_outage(stack: Stack, outage_s: float = 3.0, probe_rate: float = 100.0) -> Calibration:
    slos = SLOs(availability=0.999, bucket=0.25, stable_for=2.0)
    outage = Partition(stack.endpoints().toxiproxy_url, CALIBRATION_PROXY)
    entry = ReferenceTarget(stack.settings).entry
    with single_path(stack) as url:
        direct = replace(entry, url=url + urlsplit(entry.url).path)
        stream = ProbeStream(direct, load_payloads(entry.payloads), rate=probe_rate, timeout_s=1.0)
        injected_at, revert_started, reverted_at, records = _observe_outage(outage, stream, outage_s, slos)
    window = FaultWindow(
        index=0, type="partition", target=CALIBRATION_PROXY, injected_at=injected_at, reverted_at=reverted_at
    )
    score = scoring.score_fault(records, window, slos, probe_rate=probe_rate, observation_end=time.time())
    return Calibration(truth_s=(revert_started - injected_at, reverted_at - injected_at), score=score)


def _observe_outage(
    outage: Partition, stream: ProbeStream, outage_s: float, slos: SLOs
) -> tuple[float, float, float, pd.DataFrame]:
    """(injected at, revert started, reverted at, probe records) of one outage of `outage_s`."""
    with stream as probe:
        time.sleep(2.0)
        outage.inject()
        injected_at = time.time()
        time.sleep(max(0.0, outage_s - (time.time() - injected_at)))
        revert_started = time.time()
        outage.revert()
        reverted_at = time.time()
        time.sleep(slos.stable_for + 1.0)
        records = scoring.records_frame(probe.stop())
    return injected_at, revert_started, reverted_at, records

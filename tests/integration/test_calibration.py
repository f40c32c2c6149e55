"""Calibration against ground truth: a known outage must be measured as itself.

On a path with no redundancy (probes -> a Toxiproxy proxy -> one model
server), the proxy is disabled for exactly 3.0 s; the measured RTO's bracket
must contain the true outage and be no wider than 2 probe intervals + one
bucket.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import scoring
from harness.faults.network import Partition, toxiproxy_api
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.result import FaultWindow
from harness.scenario import SLOs
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration
PROBE_RATE = 100.0
OUTAGE_S = 3.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(tmp_path_factory.mktemp("calibration-state")))
        stack = LocalStack(StackSettings(project="failover-test-calibration"))
        stack.up(timeout_s=60, progress=False)
        yield stack
        stack.down()


@pytest.fixture
def single_path(stack: LocalStack) -> Iterator[tuple[str, str]]:
    """A proxy straight to model-a: no HAProxy, no second replica to fail over to."""
    api = toxiproxy_api(stack.endpoints().toxiproxy_url)
    port = _free_port()
    model_a = stack.endpoints().address("model-a")
    proxy = api.create(upstream=f"{model_a[0]}:{model_a[1]}", name="calibration", listen=f"127.0.0.1:{port}")
    yield f"http://127.0.0.1:{port}", "calibration"
    proxy.destroy()


def test_a_three_second_outage_is_measured_as_three_seconds(stack: LocalStack, single_path: tuple[str, str]) -> None:
    url, proxy_name = single_path
    outage = Partition(stack.endpoints().toxiproxy_url, proxy_name)
    slos = SLOs(availability=0.999, bucket=0.25, stable_for=2.0)
    with ProbeStream(url, load_payloads(), rate=PROBE_RATE, timeout_s=1.0) as probe:
        time.sleep(2.0)
        outage.inject()
        injected_at = time.time()
        time.sleep(OUTAGE_S - (time.time() - injected_at))
        outage.revert()
        reverted_at = time.time()
        time.sleep(slos.stable_for + 1.0)
    records = scoring.records_frame(probe.stop())
    window = FaultWindow(index=0, type="partition", target=proxy_name, injected_at=injected_at, reverted_at=reverted_at)
    score = scoring.score_fault(records, window, slos, probe_rate=PROBE_RATE, observation_end=time.time())
    truth = reverted_at - injected_at
    assert score.rto_s is not None and score.rto_bracket_s is not None
    lower, upper = score.rto_bracket_s
    tolerance = 0.005  # the revert call itself: the proxy listens again before reverted_at is read
    assert lower - tolerance <= truth <= upper + tolerance, (truth, score.rto_bracket_s)
    assert upper - lower <= 2 / PROBE_RATE + slos.bucket
    assert abs(score.rto_s - truth) <= 2 / PROBE_RATE
    assert score.failed_requests >= 0.9 * OUTAGE_S * PROBE_RATE

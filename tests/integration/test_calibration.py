"""Calibration against ground truth: a known outage must be measured as itself.

On a path with no redundancy (probes -> a Toxiproxy proxy -> one model
server), the proxy is disabled for exactly 3.0 s; the measured RTO's bracket
must contain the true outage and be no wider than 2 probe intervals + one
bucket.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.calibration import measure_known_outage
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration
PROBE_RATE = 100.0
OUTAGE_S = 3.0
BUCKET_S = 0.25


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(tmp_path_factory.mktemp("calibration-state")))
        stack = LocalStack(StackSettings(project="failover-test-calibration"))
        stack.up(timeout_s=60, progress=False)
        yield stack
        stack.down()


def test_a_three_second_outage_is_measured_as_three_seconds(stack: LocalStack) -> None:
    calibration = measure_known_outage(stack, OUTAGE_S, PROBE_RATE)
    score, (truth_from, truth_to) = calibration.score, calibration.truth_s
    assert abs(truth_from - OUTAGE_S) < 0.05
    assert score.rto_s is not None and score.rto_bracket_s is not None
    lower, upper = score.rto_bracket_s
    assert lower <= truth_to and truth_from <= upper, "the bracket overlaps the true end of the outage"
    assert upper - lower <= 2 / PROBE_RATE + BUCKET_S
    assert truth_from - 2 / PROBE_RATE <= score.rto_s <= truth_to + 2 / PROBE_RATE
    assert score.failed_requests >= 0.9 * OUTAGE_S * PROBE_RATE

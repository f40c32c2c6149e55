"""Calibration against ground truth: a known outage must be measured as itself.

On a path with no redundancy (probes -> a Toxiproxy proxy -> one model
server), the proxy is disabled for 3.0 s; the measured recovery must fall where
the outage really ended. How close (error, bracket width, probes lost) is a
figure, printed by tests/benchmarks/rto_calibration_bench.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.calibration import measure_known_outage
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from harness.targets.reference import ReferenceTarget
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration
PROBE_RATE = 100.0
OUTAGE_S = 3.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(tmp_path_factory.mktemp("calibration-state")))
        stack = LocalStack(StackSettings(project="failover-test-calibration"))
        ReferenceTarget(stack.settings).bring_up(stack, progress=False, timeout_s=60)
        yield stack
        stack.down()


def test_a_known_outage_is_measured_where_it_ended(stack: LocalStack) -> None:
    calibration = measure_known_outage(stack, OUTAGE_S, PROBE_RATE)
    score, (truth_from, truth_to) = calibration.score, calibration.truth_s
    assert truth_from >= OUTAGE_S, "the outage lasted at least as long as asked"
    assert score.failed_requests > 0, "the outage was seen"
    assert score.rto_s is not None and score.rto_bracket_s is not None, "the recovery was seen"
    lower, upper = score.rto_bracket_s
    assert lower <= truth_to, "no probe sent after the proxy was back failed"
    assert truth_from <= upper == score.rto_s, "no probe succeeded before the proxy came back; RTO is the first"

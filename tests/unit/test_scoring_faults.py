"""Which outage and which lost write belongs to which fault; later outages after a recovery."""

from __future__ import annotations

import pytest

from harness.result import FaultScore, FaultWindow
from harness.scenario import SLOs
from harness.scoring import (
    LOSS_LOOKBACK_S,
    attribute_lost_writes,
    mutual_overlaps,
    next_faults,
    overall_verdict,
    records_frame,
    score_fault,
    unattributed_loss,
)
from tests.unit.test_scoring import INJECT, RATE, Interval, Record, score, stream

SLOS = SLOs(rto=2.0, availability=0.99, latency={"p95": 0.25}, stable_for=5.0)


def fault(index: int, at_s: float, lasts_s: float | None = 1.0, target: str = "model-a") -> FaultWindow:
    reverted = None if lasts_s is None else INJECT + at_s + lasts_s
    return FaultWindow(index=index, type="kill", target=target, injected_at=INJECT + at_s, reverted_at=reverted)


def score_all(records: list[Record], faults: list[FaultWindow], end_s: float) -> list[FaultScore]:
    frame = records_frame(records)
    return mutual_overlaps(
        [
            score_fault(frame, window, SLOS, RATE, INJECT + end_s, next_fault=following)
            for window, following in zip(faults, next_faults(faults), strict=True)
        ]
    )


def outages(result: FaultScore) -> list[tuple[float, float | None]]:
    return [(o.start_s, o.duration_s) for o in result.later_outages]


# A single late failure, later outages


def test_a_single_late_failure_after_a_stable_start_does_not_set_the_rto() -> None:
    # the fresh-clone CI failure: one probe closed 5.74 s after the kill, everything else fine
    result = score(stream(15.0, failed=((5.74, 5.745),)), end_s=15.0, slos=SLOS)

    assert result.rto_s == 0.0
    assert outages(result) == [pytest.approx((5.74, 0.01), abs=1e-6)]
    assert [(s.name, s.passed) for s in result.slos][:2] == [("rto", True), ("later_outages", True)]
    assert overall_verdict([result], True, "")[0] == "pass"


def test_a_late_failure_after_recovery_is_its_own_outage() -> None:
    result = score(stream(20.0, failed=((0.0, 1.0), (8.0, 8.005))), end_s=20.0, slos=SLOS)

    assert result.rto_s == pytest.approx(1.0, abs=1e-6)
    assert outages(result) == [pytest.approx((8.0, 0.01), abs=1e-6)]


def test_a_long_later_outage_misses_the_rto_target_on_its_own() -> None:
    result = score(stream(20.0, failed=((0.0, 1.0), (8.0, 11.0))), end_s=20.0, slos=SLOS)

    assert result.rto_s == pytest.approx(1.0, abs=1e-6)
    assert outages(result) == [pytest.approx((8.0, 3.0), abs=1e-6)]
    later = next(s for s in result.slos if s.name == "later_outages")
    assert (later.measured, later.passed) == (pytest.approx(3.0, abs=1e-6), False)


def test_a_later_outage_that_never_ends_is_not_recovered() -> None:
    result = score(stream(20.0, failed=((0.0, 1.0), (8.0, 20.0))), end_s=20.0, slos=SLOS)

    assert outages(result) == [(pytest.approx(8.0, abs=1e-6), None)]
    assert overall_verdict([result], True, "") == (
        "fail",
        "later_outages missed on kill model-a: target ≤ 2.00 s, "
        "a later outage did not recover before the observation ended",
    )


# Outages of several faults


def test_the_next_faults_outage_within_stable_for_is_not_this_faults_rto() -> None:
    records = stream(20.0, failed=((0.0, 1.0), (3.0, 4.0)))
    first, second = score_all(records, [fault(0, 0.0), fault(1, 3.0, target="model-b")], end_s=20.0)

    assert first.rto_s == pytest.approx(1.0, abs=1e-6)  # not 4.0: the second outage is the second fault's
    assert second.rto_s == pytest.approx(1.0, abs=1e-6)
    assert first.later_outages == second.later_outages == []
    assert [o.fault_index for o in first.overlapping] == [1]  # recovered, but not for stable_for
    assert [o.fault_index for o in second.overlapping] == [0]
    assert "before the recovery from fault 1 (kill model-a) had lasted stable_for" in first.overlapping[0].reason


def test_an_outage_still_going_at_the_next_injection_is_overlapping() -> None:
    records = stream(20.0, failed=((0.0, 4.0),))
    first, second = score_all(records, [fault(0, 0.0), fault(1, 2.0, target="model-b")], end_s=20.0)

    assert first.rto_s == pytest.approx(4.0, abs=1e-6)
    assert second.rto_s == pytest.approx(2.0, abs=1e-6)
    assert first.overlapping[0].fault == "fault 2 (kill model-b)"
    assert first.overlapping[0].reason == (
        "the outage after fault 1 (kill model-a) was still going when fault 2 (kill model-b) was injected"
    )
    assert second.overlapping[0].fault == "fault 1 (kill model-a)"


def test_separate_faults_are_not_overlapping_nor_each_others_later_outages() -> None:
    records = stream(20.0, failed=((0.0, 1.0), (8.0, 9.0)))
    first, second = score_all(records, [fault(0, 0.0), fault(1, 8.0, target="model-b")], end_s=20.0)

    assert (first.rto_s, second.rto_s) == pytest.approx((1.0, 1.0), abs=1e-6)
    assert first.later_outages == second.later_outages == []
    assert first.overlapping == second.overlapping == []


def test_faults_injected_in_the_same_bucket_cannot_be_separated() -> None:
    records = stream(20.0, failed=((0.0, 1.0),))
    first, second = score_all(records, [fault(0, 0.0), fault(1, 0.1, target="model-b")], end_s=20.0)
    assert [o.fault_index for o in first.overlapping] == [1]
    assert [o.fault_index for o in second.overlapping] == [0]


# Lost writes of several faults


def lost_between(records: list[Record], *spans: Interval) -> set[str]:
    return {r.request_id for r in records if any(a <= r.sent_at - INJECT < b for a, b in spans)}


def test_writes_lost_in_the_warm_up_are_run_level_not_the_first_faults() -> None:
    records = stream(10.0)
    warm_up = lost_between(records, (-4.0, -3.905))
    losses = attribute_lost_writes(records_frame(records), warm_up, [fault(0, 0.0)], INJECT + 10, bucket_s=SLOS.bucket)

    (mine,) = losses.faults
    assert len(mine.acks) == 0 and mine.acknowledged > 0
    loss = unattributed_loss(losses, SLOs())
    assert loss is not None and loss.lost_writes == 10 and not loss.slo.passed
    scored = score_fault(records_frame(records), fault(0, 0.0), SLOs(), RATE, INJECT + 10, losses=mine)
    assert scored.lost_writes == 0
    assert overall_verdict([scored], True, "", loss) == (
        "fail",
        "lost_writes missed outside every fault: 10 acknowledged writes lost before the first fault's reach "
        "(run-level) (target ≤ 0)",
    )
    assert unattributed_loss(losses, SLOs(lost_writes=10)).slo.passed  # type: ignore[union-attr]


def test_each_fault_reaches_from_its_lookback_to_the_next_faults_lookback() -> None:
    records = stream(20.0)
    faults = [fault(0, 0.0, lasts_s=3.0), fault(1, 8.0, lasts_s=4.0, target="redis-1")]
    missing = lost_between(records, (-1.5, 15.0)) | {"never-acknowledged"}
    losses = attribute_lost_writes(records_frame(records), missing, faults, INJECT + 20, bucket_s=SLOS.bucket)

    first, second = losses.faults
    assert first.acks.min() >= INJECT - LOSS_LOOKBACK_S
    assert first.acks.max() < INJECT + 8.0 - LOSS_LOOKBACK_S <= second.acks.min()
    assert len(losses.outside.acks) + len(first.acks) + len(second.acks) == len(missing) - 1
    assert first.overlapping == second.overlapping == []  # the first was reverted before the second's reach


def test_losses_while_an_earlier_fault_is_still_active_are_overlapping() -> None:
    records = stream(20.0)
    faults = [fault(0, 0.0, lasts_s=10.0, target="redis-1"), fault(1, 5.0, lasts_s=1.0, target="model-a")]
    lost = lost_between(records, (6.0, 6.095))
    losses = attribute_lost_writes(records_frame(records), lost, faults, INJECT + 20, bucket_s=SLOS.bucket)

    first, second = losses.faults
    assert (len(first.acks), len(second.acks)) == (0, 10)
    assert [o.fault_index for o in first.overlapping] == [1]
    assert [o.fault_index for o in second.overlapping] == [0]


def test_faults_injected_in_the_same_bucket_share_one_reach_and_are_both_measured() -> None:
    """CI failure of all-replicas-down: two partitions injected 5 ms apart, no write acknowledged
    in those 5 ms, and the first fault's lost writes were "not measured" (a miss of the default 0)."""
    records = stream(12.0, rate=20.0)  # one ack every 50 ms: none falls in the 5 ms between injections
    faults = [fault(0, 0.0, lasts_s=10.0), fault(1, 0.005, lasts_s=10.0, target="model-b")]
    lost = lost_between(records, (3.0, 3.2))
    losses = attribute_lost_writes(records_frame(records), lost, faults, INJECT + 12, bucket_s=SLOS.bucket)

    first, second = losses.faults
    assert first is second and first.acknowledged > 0 and len(first.acks) == len(lost) == 4
    frame = records_frame(records)
    scores = [
        score_fault(frame, window, SLOS, RATE, INJECT + 12, next_fault=following, losses=share)
        for window, following, share in zip(faults, next_faults(faults), losses.faults, strict=True)
    ]
    assert [s.lost_writes for s in scores] == [4, 4]
    assert "lost_writes" not in scores[0].not_measured
    assert [o.fault_index for o in mutual_overlaps(scores)[0].overlapping] == [1]

"""Failback on hand-built timelines: the primary pool's return after a failover to a backup, exactly."""

from __future__ import annotations

import pytest

from harness.failback import failback
from harness.records import RequestRecord
from harness.result import FaultWindow
from harness.scoring import records_frame

FAULT = FaultWindow(index=0, type="partition", target="gateway->model-a", injected_at=10.0, reverted_at=20.0)


def _answers(start: float, end: float, *, degraded: bool = False, ok: bool = True, step: float = 0.1) -> list[RequestRecord]:
    count = round((end - start) / step)
    return [
        RequestRecord(
            sent_at=start + i * step, latency_s=0.01, ok=ok, status=200 if ok else 503, error="" if ok else "503",
            served_by="model-fallback" if degraded else "model-a", model_version="v1" if degraded else "v2",
            degraded=degraded, request_id=f"{start}-{i}", prediction=1 if ok else None, label=1,
        )
        for i in range(count)
    ]


def test_failback_runs_from_the_revert_to_the_primary_pools_first_answer_after_the_last_degraded_one() -> None:
    records = records_frame(
        _answers(0, 10) + _answers(10, 20, degraded=True) + _answers(20, 21, degraded=True)
        + _answers(21, 21.5, ok=False) + _answers(21.5, 30)
    )
    back = failback(records, FAULT, stable_for=3.0, span_end=30.0, degraded_unknown=None)
    assert back.seconds == pytest.approx(1.5) and back.errors == 5 and back.not_measured is None


def test_no_degraded_answer_after_the_revert_is_a_failback_of_zero() -> None:
    records = records_frame(_answers(10, 20, degraded=True) + _answers(20, 30))
    assert failback(records, FAULT, 3.0, 30.0, None)[:2] == (0.0, 0)


def test_a_primary_pool_that_does_not_hold_for_stable_for_is_not_confirmed() -> None:
    records = records_frame(_answers(10, 20, degraded=True) + _answers(20, 28, degraded=True) + _answers(28, 30))
    back = failback(records, FAULT, stable_for=3.0, span_end=30.0, degraded_unknown=None)
    assert back.seconds is None and "did not hold for 3s" in (back.not_measured or "")


@pytest.mark.parametrize(
    ("records", "fault", "unknown", "why"),
    [
        (_answers(10, 30), FAULT, None, "nothing to fail back from"),
        (_answers(10, 30, degraded=True), FAULT.model_copy(update={"reverted_at": None}), None, "never reverted"),
        (_answers(10, 30, degraded=True), FAULT, "no entry.degraded_header", "no entry.degraded_header"),
    ],
)
def test_not_measured_never_zero(records: list[RequestRecord], fault: FaultWindow, unknown: str | None, why: str) -> None:
    back = failback(records_frame(records), fault, 3.0, 30.0, unknown)
    assert back.seconds is None and back.errors is None and why in (back.not_measured or "")

"""Scoring on synthetic timelines whose answers are known by construction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from harness.records import RequestRecord
from harness.result import FaultScore, FaultWindow, SLOResult
from harness.scenario import SLOs, StopCondition
from harness.scoring import (
    COLUMNS,
    attribute_lost_writes,
    bucket_series,
    check_steady,
    overall_verdict,
    records_frame,
    request_totals,
    score_fault,
    stop_condition_hit,
)

T0 = 1_700_000_000.0
INJECT = T0 + 5.0
RATE = 100.0
FAST, SLOW = 0.01, 0.6
REFUSED = 0.001
"""A failed request's latency: connection refused is faster than any answer."""
Interval = tuple[float, float]


Record = RequestRecord


def within(offset: float, intervals: tuple[Interval, ...]) -> bool:
    return any(start <= offset < end for start, end in intervals)


def stream(
    end_s: float,
    *,
    rate: float = RATE,
    phase: float = 0.0,
    source: str = "probe",
    failed: tuple[Interval, ...] = (),
    slow: tuple[Interval, ...] = (),
    wrong: tuple[Interval, ...] = (),
) -> list[Record]:
    """Requests every 1/rate s, sent at INJECT + phase + i/rate, from T0 up to INJECT + end_s.

    Intervals are in seconds after injection: a request sent inside `failed` fails
    (no prediction), inside `slow` takes SLOW s, inside `wrong` answers wrongly.
    """
    first = int(np.ceil((T0 - INJECT - phase) * rate))
    last = int(np.ceil((end_s - phase) * rate))
    records = []
    for i in range(first, last):
        offset = phase + i / rate
        ok = not within(offset, failed)
        label = i % 10
        prediction = None if not ok else (label + 1) % 10 if within(offset, wrong) else label
        records.append(
            Record(
                sent_at=INJECT + offset,
                latency_s=SLOW if within(offset, slow) else FAST if ok else REFUSED,
                ok=ok,
                status=200 if ok else 503,
                error="" if ok else "no server available",
                served_by="model-a" if ok else "",
                model_version="v2" if ok else "",
                degraded=False,
                request_id=f"{source}-{i}",
                prediction=prediction,
                label=label,
                source=source,
            )
        )
    return records


def window(reverted_after: float | None = 3.0) -> FaultWindow:
    reverted_at = None if reverted_after is None else INJECT + reverted_after
    return FaultWindow(index=0, type="kill", target="model-a", injected_at=INJECT, reverted_at=reverted_at)


def score(
    records: list[Record],
    end_s: float,
    slos: SLOs | None = None,
    reverted_after: float | None = 3.0,
    signals: pd.DataFrame | None = None,
    signal_server: str | None = None,
) -> FaultScore:
    """Score the fault `window(reverted_after)` with the observation ending end_s after injection."""
    return score_fault(
        records_frame(records),
        window(reverted_after),
        slos or SLOs(rto=5.0, availability=0.99, latency={"p95": 0.25}),
        probe_rate=RATE,
        observation_end=INJECT + end_s,
        signals=signals,
        signal_server=signal_server,
    )


def slo(result: FaultScore, name: str) -> SLOResult:
    return next(s for s in result.slos if s.name == name)


# records_frame


DTYPES = {
    "sent_at": "float64", "latency_s": "float64", "ok": "bool", "status": "int64", "error": "str",
    "served_by": "str", "model_version": "str", "degraded": "bool", "request_id": "str",
    "prediction": "Int64", "label": "Int64", "source": "category",
}  # fmt: skip


@pytest.mark.parametrize("as_row", [asdict, lambda record: record], ids=["dicts", "dataclasses"])
def test_records_frame_has_the_fixed_columns_and_dtypes(as_row: Callable[[Record], object]) -> None:
    records = stream(0.05, failed=((0.0, 1.0),))
    frame = records_frame(map(as_row, records))

    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == DTYPES
    assert list(frame.columns) == list(DTYPES) == list(COLUMNS)
    assert frame["source"].cat.categories.tolist() == ["probe", "locust"]
    assert len(frame) == len(records)
    assert frame["sent_at"].tolist() == [r.sent_at for r in records]
    assert frame["prediction"].isna().tolist() == [r.prediction is None for r in records]
    assert frame["label"].tolist() == [r.label for r in records]


def test_records_frame_of_nothing_is_empty_with_the_columns() -> None:
    frame = records_frame([])
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def test_records_frame_rejects_a_missing_field_and_an_unknown_source() -> None:
    row = asdict(stream(0.01)[0])
    with pytest.raises(ValueError, match="no field 'source'"):
        records_frame([{k: v for k, v in row.items() if k != "source"}])
    with pytest.raises(ValueError, match="unknown request source"):
        records_frame([{**row, "source": "locsut"}])


# RTO


def test_no_impact_means_rto_zero() -> None:
    result = score(stream(10.0), end_s=10.0)

    assert result.rto_s == 0.0
    assert result.rto_bracket_s == (0.0, 0.0)
    assert slo(result, "rto").passed


@pytest.mark.parametrize("phase", [0.0, 0.0037])
@pytest.mark.parametrize("gap", [0.5, 1.0, 2.37, 3.005])
def test_a_gap_of_failed_probes_is_the_rto(gap: float, phase: float) -> None:
    result = score(stream(gap + 10.0, phase=phase, failed=((0.0, gap),)), end_s=gap + 10.0)

    assert result.rto_bracket_s is not None and result.rto_s is not None
    lower, upper = result.rto_bracket_s
    assert lower <= gap <= upper + 1e-6
    assert upper - lower <= 2 / RATE
    assert result.rto_s == upper
    assert result.rto_s == pytest.approx(gap, abs=1 / RATE)
    assert result.rto_resolution_s == pytest.approx(1 / RATE, abs=1e-6)


def test_probe_aligned_gap_is_exact() -> None:
    result = score(stream(12.0, failed=((0.0, 2.0),)), end_s=12.0)
    assert result.rto_s == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize(
    ("end_s", "failed"),
    [(10.0, ((0.0, 10.0),)), (10.0, ((0.0, 6.0),))],
    ids=["never-answers-again", "recovers-too-late-to-be-stable"],
)
def test_never_recovering_is_none_and_fails_the_rto(end_s: float, failed: tuple[Interval, ...]) -> None:
    result = score(stream(end_s, failed=failed), end_s=end_s, slos=SLOs(rto=5.0, stable_for=5.0))

    assert result.rto_s is None and result.rto_bracket_s is None
    rto = slo(result, "rto")
    assert rto.measured is None and not rto.passed
    assert overall_verdict([result], True, "")[0] == "fail"


@pytest.mark.parametrize(
    ("failed", "expected"),
    [
        (((0.0, 2.0), (3.0, 4.0)), 4.0),  # healthy 1 s, bad again, then stable
        (((0.0, 2.0), (6.75, 7.0)), 7.0),  # healthy one bucket short of stable_for
        (((0.0, 2.0), (7.0, 7.5)), 2.0),  # healthy for exactly stable_for, then a relapse
        (((0.0, 2.0), (7.5, 8.0)), 2.0),  # stable for longer, then a relapse: the first stable run counts
    ],
    ids=["flap-before-stable", "one-bucket-short", "exactly-stable-for", "relapse-after-stable"],
)
def test_flapping_recovery_counts_the_first_stable_run(failed: tuple[Interval, ...], expected: float) -> None:
    result = score(stream(15.0, failed=failed), end_s=15.0)
    assert result.rto_s == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("p95", "expected"), [(0.25, (2.09, 2.1)), (None, (0.0, 0.0))], ids=["p95-target", "no-latency-target"]
)
def test_slow_but_ok_is_unhealthy_when_latency_has_a_target(p95: float | None, expected: Interval) -> None:
    slos = SLOs(rto=5.0, availability=0.99, latency={"p95": p95})
    result = score(stream(12.0, slow=((0.0, 2.1),)), end_s=12.0, slos=slos)

    assert result.failed_requests == 0
    assert result.rto_bracket_s == pytest.approx(expected, abs=1e-6)
    assert result.rto_s == pytest.approx(expected[1], abs=1e-6)


def test_impact_after_a_stable_start_is_a_later_outage_not_the_rto() -> None:
    result = score(stream(15.0, failed=((6.0, 7.0),)), end_s=15.0)
    assert result.rto_s == 0.0
    assert [(o.start_s, o.duration_s) for o in result.later_outages] == [pytest.approx((6.0, 1.0), abs=1e-6)]


def test_the_cut_off_last_bucket_is_not_judged() -> None:
    result = score(stream(10.0), end_s=10.1)  # load stopped, then the observation ended
    assert result.rto_s == 0.0


@pytest.mark.parametrize(("rate", "resolution"), [(100.0, 0.01), (2.0, 0.5)])
def test_rto_resolution_is_the_probe_interval_when_probes_kept_their_schedule(rate: float, resolution: float) -> None:
    result = score_fault(records_frame(stream(10.0)), window(), SLOs(), probe_rate=rate, observation_end=INJECT + 10)
    assert result.rto_resolution_s == pytest.approx(resolution, abs=1e-6)


def test_rto_resolution_is_the_widest_gap_the_probes_left_when_they_fell_behind() -> None:
    behind = [record for record in stream(10.0) if not 4.0 < record.sent_at - INJECT < 4.4]
    result = score_fault(records_frame(behind), window(), SLOs(), probe_rate=RATE, observation_end=INJECT + 10)
    assert result.rto_resolution_s == pytest.approx(0.4, abs=1e-6)


def test_rto_resolution_leaves_out_gaps_after_the_next_fault_was_injected() -> None:
    behind = records_frame(record for record in stream(20.0) if not 12.0 < record.sent_at - INJECT < 12.4)
    later = FaultWindow(index=1, type="kill", target="model-b", injected_at=INJECT + 10, reverted_at=INJECT + 13)
    first = score_fault(behind, window(), SLOs(), probe_rate=RATE, observation_end=INJECT + 20, next_fault=later)
    assert first.rto_resolution_s == pytest.approx(1 / RATE, abs=1e-6)


def test_without_availability_target_every_probe_must_be_ok() -> None:
    one_failure_per_bucket = tuple((k * 0.25, k * 0.25 + 0.01) for k in range(8))
    result = score(stream(12.0, failed=one_failure_per_bucket), end_s=12.0, slos=SLOs())
    assert result.rto_s == pytest.approx(2.0 - 0.25 + 0.01, abs=1e-6)


@pytest.mark.parametrize("p95", [0.25, None])
@pytest.mark.parametrize("failed", [(), ((0.0, 1.0),)], ids=["no-failures-before", "failures-before"])
def test_buckets_without_probes_are_unhealthy(failed: tuple[Interval, ...], p95: float | None) -> None:
    records = [r for r in stream(12.0, failed=failed) if not 1.0 <= r.sent_at - INJECT < 1.5]
    result = score(records, end_s=12.0, slos=SLOs(availability=0.99, latency={"p95": p95}))

    assert result.rto_bracket_s == pytest.approx((1.5, 1.5))  # nothing answered until then
    assert result.rto_s == pytest.approx(1.5)


def test_locust_requests_do_not_decide_the_rto() -> None:
    records = stream(12.0, failed=((0.0, 2.0),)) + stream(12.0, rate=50, source="locust", failed=((0.0, 6.0),))
    result = score(records, end_s=12.0)
    assert result.rto_s == pytest.approx(2.0, abs=1e-6)


# TTD and quality RTO


def test_ttd_is_the_first_down_of_the_signal_server_after_injection() -> None:
    signals = pd.DataFrame(
        [
            (INJECT - 2.0, "model-a", "DOWN"),  # before the injection
            (INJECT - 1.0, "model-a", "UP"),
            (INJECT + 0.3, "model-a", "UP 1/3"),  # going down, not down yet
            (INJECT + 0.5, "model-b", "DOWN"),  # another server
            (INJECT + 0.8, "model-a", "MAINT"),
            (INJECT + 1.25, "model-a", "DOWN 1/2"),
            (INJECT + 2.0, "model-a", "DOWN"),
        ],
        columns=["t", "server", "state"],
    )
    records = stream(10.0)

    assert score(records, 10.0, signals=signals, signal_server="model-a").ttd_s == pytest.approx(1.25)
    assert score(records, 10.0, signals=signals, signal_server="model-fallback").ttd_s is None
    assert score(records, 10.0, signals=signals.iloc[:0], signal_server="model-a").ttd_s is None
    assert score(records, 10.0).ttd_s is None


def test_quality_rto_counts_wrong_answers() -> None:
    slos = SLOs(rto=5.0, availability=0.99, accuracy=0.9)
    result = score(stream(12.0, wrong=((0.0, 3.0),)), end_s=12.0, slos=slos, reverted_after=None)

    assert result.quality_rto_s == pytest.approx(3.0, abs=1e-6)
    assert result.rto_s == 0.0
    accuracy = slo(result, "accuracy")
    assert accuracy.measured == pytest.approx(0.75)  # wrong for 3 s of the 12 s window
    assert accuracy.measured is not None and not accuracy.passed


@pytest.mark.parametrize(
    ("failed", "quality_rto", "rto"),
    [
        (tuple((k * 0.02, k * 0.02 + 0.01) for k in range(150)), 0.0, 2.99),  # every other probe failed for 3 s
        (((0.0, 2.0),), 2.0, 2.0),  # nothing answered: no quality either
    ],
    ids=["half-answered", "none-answered"],
)
def test_failed_requests_are_not_wrong_answers(failed: tuple[Interval, ...], quality_rto: float, rto: float) -> None:
    slos = SLOs(availability=0.99, accuracy=0.9)
    result = score(stream(12.0, failed=failed), end_s=12.0, slos=slos)

    assert result.quality_rto_s == pytest.approx(quality_rto, abs=1e-6)
    assert result.rto_s == pytest.approx(rto, abs=1e-6)


def test_quality_rto_needs_an_accuracy_target() -> None:
    result = score(stream(12.0, wrong=((0.0, 3.0),)), end_s=12.0)
    assert result.quality_rto_s is None
    assert "accuracy" not in [s.name for s in result.slos]


# Fault window statistics and SLO results


def test_fault_window_statistics_cover_probe_and_locust_inside_the_window() -> None:
    records = stream(10.0, failed=((0.0, 1.0),)) + stream(10.0, rate=40, source="locust", failed=((0.5, 2.5),))
    records += stream(10.0, rate=40, source="locust", phase=0.001, slow=((1.0, 3.0),))
    result = score(records, end_s=10.0, reverted_after=3.0)

    frame = records_frame(records)
    inside = frame[(frame["sent_at"] >= INJECT) & (frame["sent_at"] < INJECT + 3.0)]
    assert result.requests == len(inside) == 300 + 120 + 120
    assert result.failed_requests == 100 + 80
    assert result.availability == pytest.approx(1 - 180 / 540)
    expected = np.percentile(inside.loc[inside["ok"], "latency_s"], [50, 95, 99])  # failures are not answers
    assert [result.latency_p50_s, result.latency_p95_s, result.latency_p99_s] == pytest.approx(expected)


def test_unreverted_fault_window_runs_to_the_end_of_the_observation() -> None:
    result = score(stream(10.0, failed=((8.0, 9.0),)), end_s=10.0, reverted_after=None)
    assert (result.requests, result.failed_requests) == (1000, 100)


def test_slo_results_for_the_targets_that_are_set() -> None:
    slos = SLOs(rto=1.0, availability=0.9, latency={"p50": 0.02, "p99": 0.5}, accuracy=0.95)
    result = score(stream(10.0, failed=((0.0, 2.0),)), end_s=10.0, slos=slos, reverted_after=4.0)

    assert [(s.name, s.unit, s.passed) for s in result.slos] == [
        ("rto", "s", False),
        ("availability", "fraction", False),
        ("latency_p50", "s", True),
        ("latency_p99", "s", True),
        ("accuracy", "fraction", True),
    ]
    assert slo(result, "rto").measured == pytest.approx(2.0)
    assert slo(result, "availability").measured == pytest.approx(0.5)
    assert slo(result, "accuracy").measured == 1.0


# Verdict


def fault_score(type_: str, target: str, slos: list[SLOResult]) -> FaultScore:
    fault = FaultWindow(index=0, type=type_, target=target, injected_at=INJECT, reverted_at=None)
    return FaultScore(
        fault=fault, rto_s=None, rto_bracket_s=None, rto_resolution_s=0.25, ttd_s=None,
        failed_requests=0, requests=0, availability=None, latency_p50_s=None,
        latency_p95_s=None, latency_p99_s=None, slos=slos,
    )  # fmt: skip


PASSED = SLOResult(name="availability", target=0.99, measured=1.0, passed=True, unit="fraction")
SLOW_P95 = SLOResult(name="latency_p95", target=0.25, measured=0.31, passed=False, unit="s")
NO_RTO = SLOResult(name="rto", target=2.0, measured=None, passed=False, unit="s")


@pytest.mark.parametrize(
    ("scores", "steady_ok", "aborted", "expected"),
    [
        ([fault_score("kill", "model-a", [PASSED])], True, "", ("pass", "")),
        (
            [fault_score("kill", "model-a", [PASSED]), fault_score("latency", "gateway->model-b", [PASSED, SLOW_P95])],
            False,
            "",
            ("fail", "latency_p95 missed on latency gateway->model-b: target ≤ 250 ms, measured 310 ms"),
        ),
        (
            [fault_score("partition", "gateway->model-a", [NO_RTO, SLOW_P95])],
            True,
            "",
            (
                "fail",
                "rto missed on partition gateway->model-a: target ≤ 2.00 s, not recovered before the observation ended",
            ),
        ),
        ([fault_score("kill", "model-a", [PASSED])], False, "", ("fail", "steady state not met")),
        (
            [fault_score("kill", "model-a", [NO_RTO])],
            True,
            "stop condition: availability below 50% for 10s",
            ("aborted", "stop condition: availability below 50% for 10s"),
        ),
    ],
    ids=["pass", "first-missed-slo", "rto-not-recovered", "steady-state", "aborted"],
)
def test_overall_verdict(scores: list[FaultScore], steady_ok: bool, aborted: str, expected: tuple[str, str]) -> None:
    assert overall_verdict(scores, steady_ok, aborted) == expected


# Buckets, steady state, stop conditions, totals


def test_bucket_series_counts_rates_and_percentiles() -> None:
    records = stream(2.0, failed=((0.5, 1.0),)) + stream(2.0, rate=20, source="locust", slow=((0.0, 2.0),))
    records = [r for r in records if not 1.5 <= r.sent_at - INJECT < 1.75]
    buckets = bucket_series(records_frame(records), INJECT, INJECT + 1.9, 0.25)

    assert list(buckets.columns) == [
        "t", "requests", "ok", "error_rate", "throughput", "p50", "p95", "p99", "labelled", "accuracy"
    ]
    assert buckets["t"].tolist() == pytest.approx([INJECT + k * 0.25 for k in range(8)])
    assert buckets["requests"].tolist() == [30, 30, 30, 30, 30, 30, 0, 18]
    assert buckets["ok"].tolist() == [30, 30, 5, 5, 30, 30, 0, 18]
    assert buckets["error_rate"].tolist()[:6] == pytest.approx([0, 0, 25 / 30, 25 / 30, 0, 0])
    assert buckets["throughput"].tolist()[:6] == pytest.approx([120.0] * 6)
    assert buckets["throughput"].iloc[7] == pytest.approx(18 / 0.15)
    assert buckets.loc[6, ["error_rate", "p50", "p95", "p99"]].isna().all()
    first = [r.latency_s for r in records if 0 <= r.sent_at - INJECT < 0.25]
    assert buckets.loc[0, ["p50", "p95", "p99"]].tolist() == pytest.approx(np.percentile(first, [50, 95, 99]))


def test_bucket_percentiles_match_numpy_per_bucket() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    frame = records_frame(
        Record(INJECT + t, lat, True, 200, "", "", "", False, str(i), None, None, "probe")
        for i, (t, lat) in enumerate(zip(rng.uniform(0, 10, n), rng.lognormal(-4, 1, n), strict=True))
    )
    buckets = bucket_series(frame, INJECT, INJECT + 10, 1.0)

    index = np.floor((frame["sent_at"] - INJECT) / 1.0).astype(int)
    expected = frame.groupby(index)["latency_s"].quantile([0.5, 0.95, 0.99]).unstack().to_numpy()
    np.testing.assert_allclose(buckets[["p50", "p95", "p99"]].to_numpy(), expected, rtol=1e-9)


STEADY_SLOS = SLOs(availability=0.99, latency={"p95": 0.25})


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (stream(3.0), (True, "")),
        (stream(3.0, failed=((0.0, 0.1),)), (False, "availability 96.667% < 99% (10 of 300 requests failed)")),
        (stream(3.0, slow=((0.0, 0.3),)), (False, "latency p95 600 ms > 250 ms")),
        ([], (False, "no requests were sent")),
    ],
    ids=["steady", "availability", "latency", "nothing-sent"],
)
def test_check_steady(records: list[Record], expected: tuple[bool, str]) -> None:
    assert check_steady(records_frame(records), INJECT, INJECT + 3.0, STEADY_SLOS) == expected


@pytest.mark.parametrize(
    ("failed", "now_s", "hit"),
    [
        (((-5.0, 10.0),), 10.0, True),  # 0% for the last 10 s
        (((-5.0, 10.0),), 4.0, False),  # 0%, but probes reach back only 9 s: not bad for 10 s yet
        (((4.0, 10.0),), 10.0, True),  # 40% ok
        (((5.0, 10.0),), 10.0, False),  # 50% ok is not below 50%
        ((), 10.0, False),
    ],
)
def test_stop_condition(failed: tuple[Interval, ...], now_s: float, hit: bool) -> None:
    records = stream(10.0, failed=failed) + stream(10.0, rate=50, source="locust")
    condition = StopCondition(availability_below=0.5, for_=10.0)
    assert stop_condition_hit(records_frame(records), INJECT + now_s, condition) is hit


def test_stop_condition_without_probes_in_the_window_is_hit() -> None:
    records = stream(1.0)
    condition = StopCondition(availability_below=0.5, for_=3.0)
    assert stop_condition_hit(records_frame(records), INJECT + 5.0, condition)


def test_request_totals() -> None:
    records = stream(1.0, failed=((0.0, 0.5),)) + stream(1.0, rate=30, source="locust", failed=((0.0, 0.1),))
    totals = request_totals(records_frame(records))
    assert totals.model_dump() == {"total": 600 + 180, "ok": 550 + 177, "failed": 50 + 3, "probe": 600, "locust": 180}




# Latency of successful requests only


def test_fast_failures_do_not_improve_the_latency_percentiles() -> None:
    records = stream(3.0, failed=((0.0, 1.0),), slow=((1.0, 3.0),))  # a third fail fast, the rest are slow
    result = score(records, end_s=3.0, slos=SLOs(latency={"p50": 0.25}))

    assert result.failed_requests == 100
    assert (result.latency_p50_s, result.latency_p95_s, result.latency_p99_s) == pytest.approx((SLOW,) * 3)
    assert [(s.name, s.passed) for s in result.slos] == [("latency_p50", False)]
    buckets = bucket_series(records_frame(records), INJECT, INJECT + 3.0, 1.0)
    assert buckets["p50"].tolist()[1:] == pytest.approx([SLOW, SLOW])
    assert buckets["p50"].isna().tolist() == [True, False, False], "nothing succeeded in the first second"


def test_a_latency_slo_with_no_successful_request_is_not_measured_and_missed() -> None:
    result = score(stream(3.0, failed=((0.0, 3.0),)), end_s=3.0, slos=SLOs(latency={"p95": 0.25}))

    (p95,) = result.slos
    assert (p95.measured, p95.passed) == (None, False)
    assert p95.not_measured == "no request succeeded in the fault window"
    assert overall_verdict([result], True, "")[1].endswith("not measured (no request succeeded in the fault window)")


def bucket_with_a_tail(start: float, n: int = 50) -> list[Record]:
    """n probes in one 0.25 s bucket: 40% fail fast; of the ok ones, 2 in 30 (6.7%) are slow."""
    rows = []
    for i in range(n):
        ok = i >= 0.4 * n
        latency = SLOW if i >= n - 2 else FAST if ok else REFUSED
        sent = INJECT + start + i * 0.25 / n
        status = 200 if ok else 503
        rows.append(Record(sent, latency, ok, status, "", "", "", False, f"t{start}-{i}", None, None, "probe"))
    return rows


def test_the_healthy_bucket_p95_is_of_the_successful_probes() -> None:
    # p95 of all 50 probes is fast (the slow two are 4%); of the 30 ok ones it is slow (6.7%)
    records = [row for k in range(8) for row in bucket_with_a_tail(k * 0.25)]
    records += [r for r in stream(12.0, rate=200) if r.sent_at >= INJECT + 2.0]
    result = score(records, end_s=12.0, slos=SLOs(availability=0.5, latency={"p95": 0.25}))

    assert result.rto_s == pytest.approx(2.0, abs=0.01)


# Steady state


@pytest.mark.parametrize(
    ("failed", "reason"),
    [
        (((0.0, 3.0),), "availability 0% < 100% (no availability target: every request must succeed) (300 of 300"),
        (((1.0, 1.01),), "availability 99.667% < 100% (no availability target: every request must succeed) (1 of"),
    ],
    ids=["all-failed", "one-failed"],
)
def test_check_steady_without_targets_needs_every_request_ok(failed: tuple[Interval, ...], reason: str) -> None:
    ok, why = check_steady(records_frame(stream(3.0, failed=failed)), INJECT, INJECT + 3.0, SLOs())
    assert not ok
    assert why.startswith(reason)


def test_check_steady_without_targets_passes_a_healthy_stack() -> None:
    assert check_steady(records_frame(stream(3.0)), INJECT, INJECT + 3.0, SLOs()) == (True, "")


def test_check_steady_latency_target_with_no_success_is_not_met() -> None:
    frame = records_frame(stream(3.0, failed=((0.0, 3.0),)))
    ok, why = check_steady(frame, INJECT, INJECT + 3.0, SLOs(availability=0.0, latency={"p95": 0.25}))
    assert (ok, why) == (False, "latency p95 not measured: no request succeeded")


# RPO and lost writes


def lost(frame: pd.DataFrame, start_s: float, end_s: float) -> set[str]:
    """The ids of the requests sent in [INJECT + start_s, INJECT + end_s)."""
    sent = frame["sent_at"] - INJECT
    return set(frame.loc[(sent >= start_s) & (sent < end_s), "request_id"])


def score_losses(frame: pd.DataFrame, lost_ids: set[str], slos: SLOs) -> FaultScore:
    losses = attribute_lost_writes(frame, lost_ids, [window()], observation_end=INJECT + 10, bucket_s=slos.bucket)
    return score_fault(frame, window(), slos, RATE, INJECT + 10, losses=losses.faults[0])


def test_writes_lost_after_the_injection_are_the_rpo_and_fail_lost_writes() -> None:
    frame = records_frame(stream(10.0))
    scored = score_losses(frame, lost(frame, 1.0, 2.0), SLOs(rpo=0.5))  # split brain: acknowledged, then gone

    assert scored.lost_writes == 100
    assert scored.rpo_s == pytest.approx(0.99)  # the loss window: oldest to newest lost acknowledgement
    assert scored.loss_window_s == pytest.approx((1.0 + FAST, 1.99 + FAST))
    assert [(s.name, s.measured, s.passed) for s in scored.slos] == [
        ("rpo", pytest.approx(0.99), False),
        ("lost_writes", 100, False),
    ]
    assert overall_verdict([scored], True, "")[0] == "fail"


def test_one_lost_write_fails_lost_writes_however_short_the_window() -> None:
    frame = records_frame(stream(10.0))
    one = {sorted(lost(frame, 2.0, 2.01)).pop()}
    strict = score_losses(frame, one, SLOs(rpo=1.0))
    assert (strict.lost_writes, strict.rpo_s) == (1, 0.0)
    assert [(s.name, s.unit, s.passed) for s in strict.slos] == [("rpo", "s", True), ("lost_writes", "count", False)]
    tolerant = score_losses(frame, one, SLOs(rpo=1.0, lost_writes=1))
    assert all(s.passed for s in tolerant.slos)


def test_rpo_of_writes_lost_just_before_the_injection() -> None:
    frame = records_frame(stream(10.0))
    # writes acknowledged in the 0.3 s before the injection never reached the replica
    scored = score_losses(frame, lost(frame, -0.3, 0.0), SLOs(rpo=0.5, lost_writes=30))
    assert scored.lost_writes == 30
    assert scored.rpo_s == pytest.approx(0.3 - FAST)  # acknowledged when the answer arrived
    assert [(slo.name, slo.passed) for slo in scored.slos] == [("rpo", True), ("lost_writes", True)]


def test_no_lost_write_is_rpo_0_and_passes() -> None:
    frame = records_frame(stream(10.0))
    scored = score_losses(frame, set(), SLOs(rpo=0.0))
    assert (scored.lost_writes, scored.rpo_s, scored.loss_window_s) == (0, 0.0, None)
    assert [(s.name, s.passed) for s in scored.slos] == [("rpo", True), ("lost_writes", True)]


def test_a_store_not_read_back_is_not_measured_never_0_nor_a_pass() -> None:
    frame = records_frame(stream(10.0))
    unread = score_fault(frame, window(), SLOs(rpo=1.0), RATE, INJECT + 10, losses=None)
    assert (unread.lost_writes, unread.rpo_s) == (None, None)
    assert unread.not_measured["rpo"] == unread.not_measured["lost_writes"] == "the store was not read back"
    assert [(s.name, s.measured, s.passed, s.not_measured) for s in unread.slos] == [
        ("rpo", None, False, "the store was not read back")
    ]
    explicit = score_fault(frame, window(), SLOs(lost_writes=0), RATE, INJECT + 10, losses=None)
    assert [(s.name, s.measured, s.passed) for s in explicit.slos] == [("lost_writes", None, False)]


def test_no_acknowledged_write_is_not_measured_and_fails_lost_writes() -> None:
    frame = records_frame(stream(10.0, failed=((-5.0, 10.0),)))
    scored = score_losses(frame, set(), SLOs(rpo=1.0))
    assert (scored.lost_writes, scored.rpo_s) == (None, None)
    reason = "no write was acknowledged within this fault's reach"
    assert [(s.name, s.passed, s.not_measured) for s in scored.slos] == [
        ("rpo", False, reason),
        ("lost_writes", False, reason),
    ]


def test_the_caller_says_why_a_metric_is_not_measured() -> None:
    frame = records_frame(stream(10.0))
    signals = pd.DataFrame([(INJECT + 1.0, "model-a", "DOWN")], columns=["t", "server", "state"])
    reasons = {"ttd": "the target declares no down-signal for app-1", "rpo": "the target declares no store"}
    scored = score_fault(
        frame, window(), SLOs(rpo=1.0), RATE, INJECT + 10, signals, "model-a", losses=None, not_measured=reasons
    )
    assert (scored.ttd_s, scored.rpo_s, scored.lost_writes) == (None, None, None)
    assert scored.not_measured == {
        **reasons,
        "lost_writes": "the target declares no store",
        "quality_rto": "no accuracy target (slos.accuracy)",
        "bad_predictions": "no accuracy target (slos.accuracy)",
        "rollback": "no replica changed model version after the injection",
        "failback": "no degraded answer was served during the fault: nothing to fail back from",
    }
    assert [(s.name, s.passed, s.not_measured) for s in scored.slos] == [("rpo", False, "the target declares no store")]
    assert overall_verdict([scored], True, "") == (
        "fail",
        "rpo missed on kill model-a: target ≤ 1.00 s, not measured (the target declares no store)",
    )


def test_without_a_signal_ttd_is_not_measured() -> None:
    scored = score(stream(10.0), end_s=10.0)
    assert scored.ttd_s is None and "ttd" in scored.not_measured


def test_the_first_lost_request_ids_are_kept_oldest_first() -> None:
    frame = records_frame(stream(10.0))
    scored = score_losses(frame, lost(frame, 1.0, 2.0), SLOs())
    expected = frame.loc[frame["sent_at"].between(INJECT + 1.0, INJECT + 1.195), "request_id"].tolist()
    assert scored.lost_request_ids == expected and len(expected) == 20

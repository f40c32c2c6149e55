"""The release gate over trials: percentile SLOs, confidence intervals, flaky marking, SLO forms."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.result import FaultScore, FaultWindow, RequestTotals, RunResult, SLOResult
from harness.scenario import SLOs
from harness.scenario_loader import load_scenario
from harness.trials import PER_RUN, judge_scenario, quantile_ci, statistic
from tests.unit.test_scoring import score, stream

START = 1_700_000_000.0
FIXTURES = Path(__file__).parent / "trial_scenarios"


def fault(rto: float | None, *, index: int = 0, ttd: float | None = 0.5, availability: float = 0.99,
          slos: list[SLOResult] | None = None, not_measured: dict[str, str] | None = None) -> FaultScore:  # fmt: skip
    window = FaultWindow(index=index, type="kill", target="model-a", injected_at=START + 10, reverted_at=START + 20)
    return FaultScore(
        fault=window, rto_s=rto, rto_bracket_s=None, rto_resolution_s=0.25, ttd_s=ttd, failed_requests=3,
        requests=1000, availability=availability, latency_p50_s=0.01, latency_p95_s=0.05, latency_p99_s=0.1,
        slos=slos or [], not_measured=not_measured or {},
    )  # fmt: skip


def trial(number: int, faults: list[FaultScore], verdict: str = "pass", reason: str = "") -> RunResult:
    return RunResult(
        scenario="replica-kill", backend="local", verdict=verdict, reason=reason, trial=number,
        started_at=START + 100 * number, finished_at=START + 100 * number + 60, steady_state_ok=True,
        faults=faults, requests=RequestTotals(total=1000, ok=997, failed=3, probe=500, locust=500),
    )  # fmt: skip


def trials_with_rtos(rtos: list[float | None]) -> list[RunResult]:
    return [trial(n, [fault(rto)]) for n, rto in enumerate(rtos, start=1)]


P95_2S = SLOs(rto={"p95": "2s"})


def test_one_trial_that_never_recovered_passes_a_p95_gate_over_twenty_and_is_flaky() -> None:
    results = trials_with_rtos([1.0] * 19 + [None])

    gate = judge_scenario("replica-kill", results, P95_2S)

    (row,) = gate.gates
    assert (row.metric, row.statistic, row.measured, row.passed) == ("rto", "p95", 1.0, True)
    assert row.missed_trials == [20]
    assert gate.verdict == "pass" and gate.flaky
    assert any("1 of 20 trials missed 2 s" in note and "the gate is on the p95" in note for note in gate.notes)


def test_the_never_recovered_trial_counts_as_infinite_and_fails_a_p99_gate() -> None:
    results = trials_with_rtos([1.0] * 19 + [None])

    gate = judge_scenario("replica-kill", results, SLOs(rto={"p99": "2s"}))

    assert gate.verdict == "fail"
    assert gate.gates[0].never and math.isinf(gate.gates[0].measured or 0)
    assert gate.reason == "rto p99 over 20 trials missed on kill model-a: target ≤ 2 s, measured never"


def test_a_gate_over_trials_is_never_applied_per_run_but_the_figure_is_still_measured() -> None:
    records = stream(20.0, failed=((0.0, 3.0),))

    scored = score(records, 20.0, SLOs(rto={"p95": "1s"}, availability={"min": "99%"}))

    assert scored.rto_s is not None and scored.rto_s > 1.0  # measured, over the target
    assert [slo.name for slo in scored.slos] == []  # ...and not judged on this run
    assert scored.passed


def test_a_scalar_slo_keeps_judging_every_trial() -> None:
    missed = SLOResult(name="rto", target=2.0, measured=3.0, passed=False, unit="s")
    met = SLOResult(name="rto", target=2.0, measured=1.0, passed=True, unit="s")
    results = [
        trial(1, [fault(1.0, slos=[met])]),
        trial(2, [fault(3.0, slos=[missed])], "fail", "rto missed on kill model-a"),
    ]

    gate = judge_scenario("replica-kill", results, SLOs(rto="2s"))

    (row,) = gate.gates
    assert (row.statistic, row.measured, row.passed, row.missed_trials) == (PER_RUN, 3.0, False, [2])
    assert gate.verdict == "fail" and gate.reason == "trial 2: rto missed on kill model-a"
    assert gate.flaky


def test_verdicts_that_agree_are_not_flaky() -> None:
    gate = judge_scenario("replica-kill", trials_with_rtos([1.0, 1.2, 1.1]), P95_2S)

    assert gate.verdict == "pass" and not gate.flaky and gate.notes == []


def test_errored_and_aborted_trials_set_the_verdict_and_are_reported() -> None:
    results = [*trials_with_rtos([1.0, 1.0]), trial(3, [], "aborted", "stop condition")]
    aborted = judge_scenario("replica-kill", results, P95_2S)
    errored = judge_scenario("replica-kill", [*results, trial(4, [], "error", "stack did not come up")], P95_2S)

    assert (aborted.verdict, errored.verdict) == ("aborted", "error")
    assert "trial 4: error (stack did not come up)" in errored.notes
    assert errored.reason == "trial 4: stack did not come up"


def test_a_floor_percentile_is_the_value_that_share_of_trials_meets() -> None:
    results = [trial(n, [fault(1.0, availability=a)]) for n, a in enumerate([0.999] * 19 + [0.5], start=1)]

    gate = judge_scenario("replica-kill", results, SLOs(availability={"p95": "99.9%", "min": "99%"}))

    p95, minimum = gate.gates
    assert (p95.measured, p95.passed) == (0.999, True)
    assert (minimum.measured, minimum.passed, minimum.missed_trials) == (0.5, False, [20])
    assert gate.verdict == "fail"


def test_a_figure_not_measured_in_a_trial_fails_its_gate() -> None:
    results = [trial(1, [fault(1.0)]), trial(2, [fault(1.0, ttd=None, not_measured={"ttd": "no HAProxy signal"})])]

    gate = judge_scenario("replica-kill", results, SLOs(ttd={"p50": "500ms"}))

    assert gate.verdict == "fail"
    assert gate.gates[0].not_measured == "trial 2: no HAProxy signal"


@pytest.mark.parametrize(
    ("stat", "expected"),
    [("p50", 5.0), ("p90", 9.0), ("p95", 10.0), ("max", 10.0), ("min", 1.0), ("mean", 5.5)],
)
def test_statistics_are_nearest_rank(stat: str, expected: float) -> None:
    assert statistic([float(v) for v in range(10, 0, -1)], stat) == expected


def test_confidence_intervals_are_order_statistics_and_unbounded_with_too_few_trials() -> None:
    values = [float(v) for v in range(1, 21)]

    assert quantile_ci(values, "p50") == (6.0, 15.0)  # P(6 <= B < 15) for B ~ Bin(20, 0.5) is 95.9%
    assert quantile_ci(values, "p95") == (17.0, None)  # P(B <= 16) = 1.6% for Bin(20, 0.95); no upper rank qualifies
    assert quantile_ci([1.0, 2.0, 3.0], "p50") == (None, None)


def test_percentile_slo_forms_are_checked_with_file_line_and_fix() -> None:
    with pytest.raises(BadInput) as error:
        load_scenario(FIXTURES / "bad-over-trials.yaml")

    lines = [line.split(".yaml:", 1)[1] for line in error.value.message.splitlines()]
    assert lines == [
        "6: slos.rto.p96: unknown field",
        "7: slos.ttd.p50: 'fast' is not a duration; write it like 250ms, 30s or 2m",
        "8: slos.availability.min: '150%' is not between 0% and 100%",
        "9: slos.lost_writes: give at least one statistic (p50, p90, p95, p99, max, min, mean), e.g. `{max: 0}`",
        "11: slos.latency.p95: '['300ms']' is not a duration; write it like 250ms, 30s or 2m",
        "12: slos.accuracy: '{'p95': '90%'}' is not a percentage; write it like 99.9%",
        "13: slos.regression.rtoo: unknown field",
    ]
    tip = error.value.tip
    assert "slos.rto.p96: did you mean 'p99'? fields here: p50, p90, p95, p99, max, min, mean" in tip
    assert "a mapping of statistics such as `{p95: 2s}`" in tip
    assert "gate quality over trials with quality_rto" in tip
    assert "slos.regression.rtoo: did you mean 'rto'?" in tip


def test_bucket_thresholds_over_trials_use_the_strictest_target() -> None:
    slos = SLOs(availability={"p50": "99.99%", "min": "99%"}, latency={"p95": {"p50": "100ms", "max": "300ms"}})

    assert (slos.threshold("availability"), slos.threshold("latency_p95")) == (0.9999, 0.1)
    assert (slos.per_run("availability"), slos.per_run("latency_p95")) == (None, None)


def test_a_single_ttd_target_judges_every_run_and_undetected_is_not_measured() -> None:
    records = stream(20.0, failed=((0.0, 1.0),))

    scored = score(records, 20.0, SLOs(ttd="1s"))  # no HAProxy signal given: TTD cannot be measured

    (ttd,) = [slo for slo in scored.slos if slo.name == "ttd"]
    assert (ttd.target, ttd.measured, ttd.passed) == (1.0, None, False)
    assert ttd.not_measured

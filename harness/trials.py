"""The release gate over a scenario's trials: statistics, confidence intervals, SLOs over trials, flakiness.

Each trial is a whole run (stack up, re-stabilised, load, faults, down). Per fault and per metric
(`scenario.METRICS`) a trial gives one figure; a fault that never recovered (or was never detected)
gives an infinite one, so it counts in every statistic and is never dropped. A figure the run could
not measure (no store read back, no request answered) is "not measured": its gate fails, never passes.

Statistics (`statistic`) use the nearest rank, so each is a figure one trial actually had:
pXX of n trials is the ceil(XX% x n)-th best one. For a ceiling (RTO, TTD, counts: lower is better)
that is the ceil(q n)-th smallest; for a floor (availability: higher is better) the ceil(q n)-th
largest, so `availability: {p95: 99.9%}` reads "95% of trials had at least 99.9%". With 20 trials p95
is the 19th best trial: one bad trial passes a p95 gate; below 20 trials p95 is the worst one.

Confidence intervals (`quantile_ci`) are distribution-free, from order statistics: the number of
trials below the true quantile q is Binomial(n, q), so [x_(l), x_(u)] covers it with probability
P(l <= B < u) >= 95%, l and u chosen with at most 2.5% on each side. No assumption on the shape of
the RTO distribution (it is skewed and has atoms at bucket edges), no random resampling. With few
trials a side has no rank that qualifies: that bound is None ("unbounded"; e.g. the upper bound of
a p95 needs 72 trials). Max, min and mean get no interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.result import RunResult, Verdict
from harness.scenario import FLOORS, METRICS, STATISTICS, SLOs

CONFIDENCE = 0.95
PER_RUN = "every trial"
"""The statistic column of an SLO judged on each run (a single value in the scenario)."""
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
UNITS = {
    "lost_writes": "count", "bad_predictions": "count", "failback_errors": "count", "failed_requests": "count",
    "availability": "fraction", "degraded_share": "share",
}  # fmt: skip
"""Every other metric is in seconds."""
SEVERITY: dict[Verdict, int] = {"pass": 0, "fail": 1, "aborted": 2, "error": 3}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Figures(_Model):
    """One metric of one fault over the trials that reached it."""

    trials: int
    stats: dict[str, float | None]
    """Statistic (`STATISTICS`) -> value; None: infinite (a trial never recovered / was never detected)."""
    never: int = 0
    """Trials whose figure is infinite."""
    ci: dict[str, tuple[float | None, float | None]] = {}
    """Percentile -> its 95% interval; a None bound: unbounded (too few trials)."""


class FaultFigures(_Model):
    """Every measured metric of one fault (by its index in the timeline) across trials."""

    index: int
    type: str
    target: str
    figures: dict[str, Figures] = {}
    not_measured: dict[str, str] = {}
    """Metric -> why some trial could not measure it (then it has no figures)."""

    @property
    def label(self) -> str:
        return f"{self.type} {self.target}"


class Gate(_Model):
    """One row of the gate table: an SLO of one fault, judged on one statistic (or on every trial)."""

    fault_index: int
    fault: str
    metric: str
    statistic: str
    """A `STATISTICS` name, or `PER_RUN` for an SLO judged on every trial."""
    target: float
    unit: str
    measured: float | None
    """None: not measured (see `not_measured`); inf is never (JSON: null with `never`)."""
    never: bool = False
    ci: tuple[float | None, float | None] | None = None
    passed: bool
    not_measured: str | None = None
    missed_trials: list[int] = []
    """Trials whose own figure missed `target`."""
    baseline: float | None = None
    change: float | None = None
    """(measured - baseline) / baseline; for availability, of the unavailability."""
    regression: str | None = None
    """The sentence when the change is a regression beyond tolerance, or an improvement."""
    regressed: bool = False


class ScenarioGate(_Model):
    """The verdict of one scenario over all its trials."""

    scenario: str
    verdict: Verdict
    reason: str = ""
    trials: int
    trial_verdicts: list[Verdict]
    flaky: bool
    """Trials disagreed: some met every target on their own figures, some did not."""
    gates: list[Gate] = []
    faults: list[FaultFigures] = []
    notes: list[str] = []
    """Said in the index and on the console: gates passed despite missed trials, errors, baselines."""


def statistic(values: Sequence[float], stat: str, floor: bool = False) -> float:
    """`stat` of `values` (inf allowed); percentiles by nearest rank counted from the best value."""
    if stat == "mean":
        return math.fsum(values) / len(values)
    if stat in ("max", "min"):
        return max(values) if stat == "max" else min(values)
    ordered = sorted(values, reverse=floor)
    return ordered[max(1, math.ceil(QUANTILES[stat] * len(values) - 1e-9)) - 1]


def quantile_ci(values: Sequence[float], stat: str, floor: bool = False) -> tuple[float | None, float | None]:
    """The distribution-free `CONFIDENCE` interval of percentile `stat` (see the module docstring),
    as (low, high) in the metric's own order; a None bound is unbounded."""
    n, q = len(values), QUANTILES[stat]
    ordered = sorted(values, reverse=floor)
    tail = (1 - CONFIDENCE) / 2
    cdf = [_binomial_cdf(k, n, q) for k in range(n + 1)]
    lower_ranks = [rank for rank in range(1, n + 1) if cdf[rank - 1] <= tail]
    upper_ranks = [rank for rank in range(1, n + 1) if 1 - cdf[rank - 1] <= tail]
    best = ordered[max(lower_ranks) - 1] if lower_ranks else None
    worst = ordered[min(upper_ranks) - 1] if upper_ranks else None
    return (worst, best) if floor else (best, worst)


def _binomial_cdf(k: int, n: int, q: float) -> float:
    """P(B <= k) for B ~ Binomial(n, q)."""
    return math.fsum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k + 1))


def trial_figure(fault: Mapping[str, Any], metric: str) -> tuple[float | None, str | None]:
    """(figure, why not measured) of one trial's fault, from a `FaultScore` dump or a `result.json`
    fault: inf when it never recovered or was never detected, None (with why) when not measured."""
    missing: Mapping[str, str] = fault.get("not_measured") or {}
    quality: Mapping[str, Any] = fault.get("quality") or {}
    raw, endless = _raw_figure(fault, quality, metric)
    if raw is not None:
        return float(raw), None
    if metric in missing:
        return None, missing[metric]
    if endless:
        return math.inf, None
    return None, _NOT_MEASURED.get(metric, "not measured")


_NOT_MEASURED = {
    "availability": "no request was sent in the fault window",
    "latency_p50": "no request succeeded in the fault window",
    "latency_p95": "no request succeeded in the fault window",
    "latency_p99": "no request succeeded in the fault window",
}
_ENDLESS = frozenset({"rto", "ttd", "quality_rto", "rollback", "later_outages"})
"""Times whose None means 'never happened before the observation ended'."""
_FIELDS = {"rto": "rto_s", "ttd": "ttd_s", "rpo": "rpo_s", "quality_rto": "quality_rto_s", "failback": "failback_s"}
"""Where a metric is in a fault (else the field of its own name; latency_pXX in latency_pXX_s)."""
_QUALITY_FIELDS = {"rollback": "rollback_verified_s", "bad_predictions": "bad_predictions", "degraded_share": "degraded_share"}


def _raw_figure(fault: Mapping[str, Any], quality: Mapping[str, Any], metric: str) -> tuple[Any, bool]:
    if metric == "later_outages":
        durations = [outage.get("duration_s") for outage in fault.get("later_outages") or []]
        return (None if None in durations else max(durations, default=0.0)), True
    if metric in _QUALITY_FIELDS:
        return quality.get(_QUALITY_FIELDS[metric]), metric in _ENDLESS
    return fault.get(_FIELDS.get(metric, f"{metric}_s" if metric.startswith("latency_") else metric)), metric in _ENDLESS


def fault_figures(scores: Sequence[Mapping[str, Any]]) -> FaultFigures:
    """Every metric of one fault over the trials that reached it (`scores`: dumps, in trial order)."""
    first = scores[0]
    window = first.get("fault") or first
    figures, missing = {}, {}
    for metric in (*METRICS, "later_outages", "failed_requests"):
        values, why_not = _values(scores, metric)
        if why_not is not None:
            missing[metric] = why_not
        elif values:
            figures[metric] = describe(values, metric in FLOORS)
    return FaultFigures(
        index=int(window["index"]), type=window["type"], target=window["target"], figures=figures, not_measured=missing
    )


def _values(scores: Sequence[Mapping[str, Any]], metric: str) -> tuple[list[float], str | None]:
    values = []
    for trial, score in enumerate(scores, start=1):
        value, why_not = trial_figure(score, metric)
        if value is None:
            return [], f"trial {trial}: {why_not}" if len(scores) > 1 else why_not
        values.append(value)
    return values, None


def describe(values: Sequence[float], floor: bool) -> Figures:
    stats = {stat: _finite(statistic(values, stat, floor)) for stat in STATISTICS}
    ci = {stat: _finite_pair(quantile_ci(values, stat, floor)) for stat in QUANTILES}
    return Figures(trials=len(values), stats=stats, never=sum(math.isinf(v) for v in values), ci=ci)


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else value


def _finite_pair(pair: tuple[float | None, float | None]) -> tuple[float | None, float | None]:
    return _finite(pair[0]), _finite(pair[1])


def met(value: float, target: float, metric: str) -> bool:
    return value >= target if metric in FLOORS else value <= target


@dataclass
class _Judged:
    gates: list[Gate] = field(default_factory=list)
    trial_ok: dict[int, bool] = field(default_factory=dict)


def judge_scenario(name: str, results: Sequence[RunResult], slos: SLOs | None) -> ScenarioGate:
    """The scenario's verdict over its trials (in trial order): error > aborted > fail > pass, where
    fail is a trial failing a per-run SLO (or its steady state) or a missed SLO over trials."""
    verdicts = [result.verdict for result in results]
    by_index = _scores_by_fault(results)
    judged = _Judged(trial_ok={r.trial: r.verdict == "pass" for r in results if r.verdict != "error"})
    for index, scores in sorted(by_index.items()):
        judged.gates += _per_run_gates(scores)
        judged.gates += _trial_gates(scores, slos, judged.trial_ok)
    figures = [fault_figures([s.model_dump(mode="python") for _, s in scores]) for _, scores in sorted(by_index.items())]
    flaky = len(set(judged.trial_ok.values())) > 1
    verdict, reason = _verdict(results, judged.gates)
    gate = ScenarioGate(
        scenario=name, verdict=verdict, reason=reason, trials=len(results), trial_verdicts=verdicts,
        flaky=flaky, gates=judged.gates, faults=figures,
    )  # fmt: skip
    return gate.model_copy(update={"notes": _notes(gate, results)})


def _scores_by_fault(results: Sequence[RunResult]) -> dict[int, list[tuple[int, Any]]]:
    by_index: dict[int, list[tuple[int, Any]]] = {}
    for result in results:
        for score in result.faults:
            by_index.setdefault(score.fault.index, []).append((result.trial, score))
    return by_index


def _per_run_gates(scores: list[tuple[int, Any]]) -> list[Gate]:
    """One row per SLO judged on every run: its worst trial, passed when every trial passed it."""
    rows: dict[str, list[tuple[int, Any]]] = {}
    for trial, score in scores:
        for slo in score.slos:
            rows.setdefault(slo.name, []).append((trial, slo))
    fault = scores[0][1].fault
    gates = []
    for name, slos in rows.items():
        measured = [slo.measured for _, slo in slos]
        worst = None if None in measured else (min if name in FLOORS else max)(m for m in measured if m is not None)
        never = worst is None and name in _ENDLESS and all(slo.not_measured is None for _, slo in slos)
        gate = Gate(
            fault_index=fault.index, fault=f"{fault.type} {fault.target}", metric=name, statistic=PER_RUN,
            target=slos[0][1].target, unit=slos[0][1].unit, measured=math.inf if never else worst, never=never,
            passed=all(slo.passed for _, slo in slos),
            not_measured=next((slo.not_measured for _, slo in slos if slo.not_measured), None),
            missed_trials=[trial for trial, slo in slos if not slo.passed],
        )  # fmt: skip
        gates.append(gate)
    return gates


def _trial_gates(scores: list[tuple[int, Any]], slos: SLOs | None, trial_ok: dict[int, bool]) -> list[Gate]:
    """One row per statistic of every SLO given over trials; marks the trials that missed a target."""
    if slos is None:
        return []
    targets = slos.over_trials()
    if "rto" in targets:
        targets = {**targets, "later_outages": targets["rto"]}
    fault = scores[0][1].fault
    dumps = [(trial, score.model_dump(mode="python")) for trial, score in scores]
    gates = []
    for metric, stats in targets.items():
        samples = [(trial, *trial_figure(dump, metric)) for trial, dump in dumps]
        if metric == "later_outages" and not any(value for _, value, _ in samples):
            continue  # no trial had a later outage: the RTO rows say it all
        for stat, target in stats.items():
            gates.append(_trial_gate(fault, metric, stat, target, samples, trial_ok))
    return gates


def _trial_gate(
    fault: Any, metric: str, stat: str, target: float, samples: list[tuple[int, float | None, str | None]],
    trial_ok: dict[int, bool],
) -> Gate:  # fmt: skip
    values = [value for _, value, _ in samples if value is not None]
    missed = [trial for trial, value, _ in samples if value is not None and not met(value, target, metric)]
    for trial in missed:
        trial_ok[trial] = False
    base = {
        "fault_index": fault.index, "fault": f"{fault.type} {fault.target}", "metric": metric, "statistic": stat,
        "target": target, "unit": UNITS.get(metric, "s"), "missed_trials": missed,
    }  # fmt: skip
    unmeasured = [(trial, why) for trial, value, why in samples if value is None]
    if unmeasured:
        trial, why = unmeasured[0]
        return Gate(**base, measured=None, passed=False, not_measured=f"trial {trial}: {why}")
    floor = metric in FLOORS
    measured = statistic(values, stat, floor)
    ci = quantile_ci(values, stat, floor) if stat in QUANTILES else None
    return Gate(**base, measured=measured, never=math.isinf(measured), ci=ci, passed=met(measured, target, metric))


def _verdict(results: Sequence[RunResult], gates: list[Gate]) -> tuple[Verdict, str]:
    worst = max(results, key=lambda r: SEVERITY[r.verdict])
    if worst.verdict in ("error", "aborted"):
        return worst.verdict, f"trial {worst.trial}: {worst.reason}"
    missed = next((gate for gate in gates if not gate.passed and gate.statistic != PER_RUN), None)
    if missed is not None:
        return "fail", describe_miss(missed, len(results))
    if worst.verdict == "fail":
        return "fail", worst.reason if len(results) == 1 else f"trial {worst.trial}: {worst.reason}"
    return "pass", ""


def describe_miss(gate: Gate, trials: int) -> str:
    """'rto p95 over 20 trials missed on kill model-a: target 2 s, measured 2.4 s'."""
    got = f"not measured ({gate.not_measured})" if gate.measured is None else f"measured {show(gate.measured, gate.unit)}"
    return (
        f"{gate.metric} {gate.statistic} over {trials} trials missed on {gate.fault}: "
        f"target {'≥' if gate.metric in FLOORS else '≤'} {show(gate.target, gate.unit)}, {got}"
    )


def show(value: float | None, unit: str) -> str:
    """'0.9 s', '99.95%', '3', 'never'."""
    if value is None:
        return "—"
    if math.isinf(value):
        return "never"
    if unit == "count":
        return f"{value:g}"
    if unit in ("fraction", "share"):
        return f"{value * 100:.4g}%"
    return f"{value:.3g} s"


def _notes(gate: ScenarioGate, results: Sequence[RunResult]) -> list[str]:
    """What a reviewer should read beside the verdict."""
    notes = [f"trial {r.trial}: {r.verdict} ({r.reason})" for r in results if r.verdict in ("error", "aborted")]
    for row in gate.gates:
        if row.passed and row.missed_trials and row.statistic != PER_RUN:
            notes.append(
                f"{row.metric} {row.statistic} passed on {row.fault} although {len(row.missed_trials)} of "
                f"{gate.trials} trials missed {show(row.target, row.unit)} (trials "
                f"{', '.join(map(str, row.missed_trials))}): the gate is on the {row.statistic}"
            )
    if gate.flaky:
        notes.append(f"flaky: the trials disagree ({_tally(gate)})")
    return notes


def _tally(gate: ScenarioGate) -> str:
    missed = sorted({trial for row in gate.gates for trial in row.missed_trials})
    fail = [f"trial {r}" for r in missed]
    return f"{', '.join(fail) or 'some trials'} missed a target on their own figures"


def gate_lines(gate: ScenarioGate) -> list[str]:
    """The gate for a CI log: a headline, one line per SLO row (never cut to a table width), the notes."""
    flaky = ", flaky" if gate.flaky else ""
    head = f"{gate.scenario}: {gate.verdict.upper()} over {gate.trials} trial{'s' if gate.trials != 1 else ''}{flaky}"
    lines = [head + (f" ({gate.reason})" if gate.reason else "")]
    for row in gate.gates:
        lines.append("  " + _row_line(row, gate.trials))
    lines += [f"  note: {note}" for note in gate.notes]
    return lines


def _row_line(row: Gate, trials: int) -> str:
    verdict = "pass" if row.passed and not row.regressed else "FAIL"
    measured = f"not measured ({row.not_measured})" if row.measured is None else show(row.measured, row.unit)
    ci = ""
    if row.ci is not None:
        low, high = (show(v, row.unit) if v is not None else "unbounded" for v in row.ci)
        ci = f", 95% CI {low} to {high}"
    missed = f", {len(row.missed_trials)} of {trials} trials missed it" if row.missed_trials else ""
    base = f", baseline {show(row.baseline, row.unit)}" if row.baseline is not None else ""
    sign = "≥" if row.metric in FLOORS else "≤"
    return (
        f"{verdict} {row.metric} {row.statistic} on {row.fault}: {measured} (target {sign} "
        f"{show(row.target, row.unit)}{ci}{missed}{base})"
    )

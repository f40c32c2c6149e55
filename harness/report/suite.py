"""The suite index: `index.html` and `index.json` over every run of one `failover run`.

Aggregation (`aggregate_trials`) is separate from rendering so it can be tested
and reused on its own. Links to each run's `report.html` are relative to the
index folder, so the index and the run folders can be moved together.
`index.json` is a `SuiteIndex` (a JSON Schema can be generated from it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from statistics import median
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from harness import __version__
from harness.baseline import percent_change
from harness.history import read_history
from harness.report.html import template_environment
from harness.report.trend import trend_png_base64
from harness.result import FaultScore, RunResult, Verdict
from harness.trials import (
    PER_RUN,
    SEVERITY,
    FaultFigures,
    Gate,
    ScenarioGate,
    judge_scenario,
    show,
)

SCHEMA_VERSION = 2
"""2: each scenario's verdict is its gate over trials (SLOs over trials, regressions against a
baseline), with `flaky`, `reason`, `notes`, the gate table `gates` and every fault's `figures`
(p50/p90/p95/p99/max/min/mean over trials, with confidence intervals); `baseline` names the baseline."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class SuiteRun:
    result: RunResult
    run_dir: Path
    """The run's folder, containing report.html, result.json, ..."""


class FaultAggregate(_Model):
    """One fault (by index) over the trials of a scenario that reached it."""

    index: int
    type: str
    target: str
    trials: int
    passed: int
    pass_rate: float
    rto_min_s: float | None
    """Min and median are over the trials that recovered; None if none did."""
    rto_median_s: float | None
    rto_max_s: float | None
    """None when any trial did not recover: the worst case is 'never'."""
    not_recovered: int
    ttd_median_s: float | None
    ttd_max_s: float | None
    failed_requests: int
    worst_availability: float | None
    worst_latency_p95_s: float | None


class ScenarioAggregate(_Model):
    scenario: str
    verdict: Verdict
    """From the gate: error > aborted > fail (a trial missed a per-run SLO, an SLO over trials was missed,
    or a regression) > pass."""
    trials: int
    passed: int
    """Trials whose own verdict was pass (SLOs over trials are not judged per trial)."""
    faults: list[FaultAggregate]
    flaky: bool = False
    reason: str = ""
    notes: list[str] = []
    gates: list[Gate] = []
    figures: list[FaultFigures] = []


class RunFault(_Model):
    type: str
    target: str
    rto_s: float | None
    rto_bracket_s: list[float] | None
    ttd_s: float | None
    failed_requests: int


class RunRow(_Model):
    scenario: str
    trial: int
    backend: str
    verdict: Verdict
    reason: str
    report: str
    faults: list[RunFault]


class SuiteIndex(_Model):
    """`index.json`."""

    schema_version: int = SCHEMA_VERSION
    verdict: Verdict
    counts: dict[str, int]
    """Runs, and runs per verdict."""
    backends: list[str]
    started_at: float
    finished_at: float
    harness_version: str
    baseline: str | None = None
    """The baseline file compared against, if any."""
    scenarios: list[ScenarioAggregate]
    runs: list[RunRow]


def worst_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """'pass' only if every verdict is; otherwise the worst (error > aborted > fail)."""
    return max(verdicts, key=SEVERITY.__getitem__, default="pass")


def aggregate_trials(runs: list[RunResult], gates: Sequence[ScenarioGate] = ()) -> list[ScenarioAggregate]:
    """One aggregate per scenario, in order of first appearance; its verdict from `gates` (by scenario),
    else from its trials alone (per-run SLOs)."""
    groups: dict[str, list[RunResult]] = {}
    for run in runs:
        groups.setdefault(run.scenario, []).append(run)
    by_name = {gate.scenario: gate for gate in gates}
    return [_aggregate_scenario(name, trials, by_name.get(name)) for name, trials in groups.items()]


def _aggregate_scenario(name: str, trials: list[RunResult], gate: ScenarioGate | None) -> ScenarioAggregate:
    gate = gate or judge_scenario(name, trials, None)
    by_index: dict[int, list[FaultScore]] = {}
    for trial in trials:
        for score in trial.faults:
            by_index.setdefault(score.fault.index, []).append(score)
    return ScenarioAggregate(
        scenario=name,
        verdict=gate.verdict,
        trials=len(trials),
        passed=sum(trial.verdict == "pass" for trial in trials),
        faults=[_aggregate_fault(index, scores) for index, scores in sorted(by_index.items())],
        flaky=gate.flaky,
        reason=gate.reason,
        notes=gate.notes,
        gates=gate.gates,
        figures=gate.faults,
    )


def _aggregate_fault(index: int, scores: list[FaultScore]) -> FaultAggregate:
    rtos = [s.rto_s for s in scores if s.rto_s is not None]
    ttds = [s.ttd_s for s in scores if s.ttd_s is not None]
    availabilities = [s.availability for s in scores if s.availability is not None]
    p95s = [s.latency_p95_s for s in scores if s.latency_p95_s is not None]
    not_recovered = len(scores) - len(rtos)
    passed = sum(s.passed for s in scores)
    return FaultAggregate(
        index=index,
        type=scores[0].fault.type,
        target=scores[0].fault.target,
        trials=len(scores),
        passed=passed,
        pass_rate=passed / len(scores),
        rto_min_s=min(rtos, default=None),
        rto_median_s=median(rtos) if rtos else None,
        rto_max_s=None if not_recovered else max(rtos),
        not_recovered=not_recovered,
        ttd_median_s=median(ttds) if ttds else None,
        ttd_max_s=max(ttds, default=None),
        failed_requests=sum(s.failed_requests for s in scores),
        worst_availability=min(availabilities, default=None),
        worst_latency_p95_s=max(p95s, default=None),
    )


def report_link(run: SuiteRun, out_dir: Path) -> str:
    """The run's report.html relative to `out_dir`, '/'-separated."""
    return PurePath(os.path.relpath(run.run_dir / "report.html", out_dir)).as_posix()


def suite_index(
    runs: list[SuiteRun], out_dir: Path, gates: Sequence[ScenarioGate] = (), baseline: str | None = None
) -> SuiteIndex:
    """The `index.json` document."""
    results = [run.result for run in runs]
    scenarios = aggregate_trials(results, gates)
    return SuiteIndex(
        verdict=worst_verdict([scenario.verdict for scenario in scenarios]),
        counts=_counts(results),
        backends=_backends(results),
        started_at=min(r.started_at for r in results),
        finished_at=max(r.finished_at for r in results),
        harness_version=__version__,
        baseline=baseline,
        scenarios=scenarios,
        runs=[_run_row(run, out_dir) for run in runs],
    )


def _counts(results: list[RunResult]) -> dict[str, int]:
    verdicts = [r.verdict for r in results]
    return {"runs": len(results), **{verdict: verdicts.count(verdict) for verdict in SEVERITY}}


def _backends(results: list[RunResult]) -> list[str]:
    return list(dict.fromkeys(r.backend for r in results))


def _run_row(run: SuiteRun, out_dir: Path) -> RunRow:
    r = run.result
    faults = [
        RunFault(
            type=s.fault.type,
            target=s.fault.target,
            rto_s=s.rto_s,
            rto_bracket_s=None if s.rto_bracket_s is None else list(s.rto_bracket_s),
            ttd_s=s.ttd_s,
            failed_requests=s.failed_requests,
        )
        for s in r.faults
    ]
    return RunRow(
        scenario=r.scenario, trial=r.trial, backend=r.backend, verdict=r.verdict, reason=r.reason,
        report=report_link(run, out_dir), faults=faults,
    )  # fmt: skip


def write_suite_index(
    runs: list[SuiteRun],
    out_dir: Path,
    gates: Sequence[ScenarioGate] = (),
    *,
    history: Path | None = None,
    baseline: str | None = None,
) -> dict[str, Path]:
    """Write out_dir/index.html and out_dir/index.json; return {'html': ..., 'json': ...}. `gates`: the
    scenarios' gates (default: judged on their per-run SLOs alone); `history`: the history file whose
    lines draw each scenario's trend."""
    if not runs:
        raise ValueError("a suite index needs at least one run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    document = suite_index(runs, out, gates, baseline)
    json_path, html_path = out / "index.json", out / "index.html"
    text = json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    trends = {s.scenario: trend_png_base64(read_history(history, s.scenario)) for s in document.scenarios} if history else {}
    html_path.write_text(_render(runs, document, trends), encoding="utf-8")
    return {"html": html_path, "json": json_path}


def _render(runs: list[SuiteRun], document: SuiteIndex, trends: Mapping[str, str | None]) -> str:
    rows = [{"result": run.result, "href": quote(row.report)} for run, row in zip(runs, document.runs, strict=True)]
    aggregates = document.scenarios
    return template_environment().get_template("suite.html.j2").render(
        suite=document,
        aggregates=aggregates,
        not_passed=[a for a in aggregates if a.verdict != "pass"],
        rows=rows,
        trends=trends,
        show=show,
        percent_change=percent_change,
        per_run=PER_RUN,
        version=__version__,
    )

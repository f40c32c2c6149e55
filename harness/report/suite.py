"""The suite index: `index.html` and `index.json` over every run of one `failover run`.

Aggregation (`aggregate_trials`) is separate from rendering so it can be tested
and reused on its own. Links to each run's `report.html` are relative to the
index folder, so the index and the run folders can be moved together.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath
from statistics import median
from typing import Any
from urllib.parse import quote

from harness import __version__
from harness.report.html import template_environment
from harness.result import FaultScore, RunResult, Verdict

SCHEMA_VERSION = 1
SEVERITY: dict[Verdict, int] = {"pass": 0, "fail": 1, "aborted": 2, "error": 3}


@dataclass(frozen=True)
class SuiteRun:
    result: RunResult
    run_dir: Path
    """The run's folder, containing report.html, result.json, ..."""


@dataclass(frozen=True)
class FaultAggregate:
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


@dataclass(frozen=True)
class ScenarioAggregate:
    scenario: str
    verdict: Verdict
    trials: int
    passed: int
    faults: list[FaultAggregate]


def worst_verdict(verdicts: list[Verdict]) -> Verdict:
    """'pass' only if every verdict is; otherwise the worst (error > aborted > fail)."""
    return max(verdicts, key=SEVERITY.__getitem__, default="pass")


def aggregate_trials(runs: list[RunResult]) -> list[ScenarioAggregate]:
    """One aggregate per scenario, in order of first appearance."""
    groups: dict[str, list[RunResult]] = {}
    for run in runs:
        groups.setdefault(run.scenario, []).append(run)
    return [_aggregate_scenario(name, trials) for name, trials in groups.items()]


def _aggregate_scenario(name: str, trials: list[RunResult]) -> ScenarioAggregate:
    by_index: dict[int, list[FaultScore]] = {}
    for trial in trials:
        for score in trial.faults:
            by_index.setdefault(score.fault.index, []).append(score)
    return ScenarioAggregate(
        scenario=name,
        verdict=worst_verdict([trial.verdict for trial in trials]),
        trials=len(trials),
        passed=sum(trial.verdict == "pass" for trial in trials),
        faults=[_aggregate_fault(index, scores) for index, scores in sorted(by_index.items())],
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


def suite_document(runs: list[SuiteRun], out_dir: Path) -> dict[str, Any]:
    """The `index.json` document (pure JSON types)."""
    results = [run.result for run in runs]
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": worst_verdict([r.verdict for r in results]),
        "counts": _counts(results),
        "backends": _backends(results),
        "started_at": min(r.started_at for r in results),
        "finished_at": max(r.finished_at for r in results),
        "harness_version": __version__,
        "scenarios": [asdict(aggregate) for aggregate in aggregate_trials(results)],
        "runs": [_run_row(run, out_dir) for run in runs],
    }


def _counts(results: list[RunResult]) -> dict[str, int]:
    verdicts = [r.verdict for r in results]
    return {"runs": len(results), **{verdict: verdicts.count(verdict) for verdict in SEVERITY}}


def _backends(results: list[RunResult]) -> list[str]:
    return list(dict.fromkeys(r.backend for r in results))


def _run_row(run: SuiteRun, out_dir: Path) -> dict[str, Any]:
    r = run.result
    faults = [
        {
            "type": s.fault.type,
            "target": s.fault.target,
            "rto_s": s.rto_s,
            "rto_bracket_s": None if s.rto_bracket_s is None else list(s.rto_bracket_s),
            "ttd_s": s.ttd_s,
            "failed_requests": s.failed_requests,
        }
        for s in r.faults
    ]
    return {
        "scenario": r.scenario,
        "trial": r.trial,
        "backend": r.backend,
        "verdict": r.verdict,
        "reason": r.reason,
        "report": report_link(run, out_dir),
        "faults": faults,
    }


def write_suite_index(runs: list[SuiteRun], out_dir: Path) -> dict[str, Path]:
    """Write out_dir/index.html and out_dir/index.json; return {'html': ..., 'json': ...}."""
    if not runs:
        raise ValueError("a suite index needs at least one run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    document = suite_document(runs, out)
    json_path, html_path = out / "index.json", out / "index.html"
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(_render(runs, document), encoding="utf-8")
    return {"html": html_path, "json": json_path}


def _render(runs: list[SuiteRun], document: dict[str, Any]) -> str:
    rows = [{"result": run.result, "href": quote(row["report"])} for run, row in zip(runs, document["runs"])]
    aggregates = aggregate_trials([run.result for run in runs])
    return template_environment().get_template("suite.html.j2").render(
        suite=document,
        aggregates=aggregates,
        not_passed=[a for a in aggregates if a.verdict != "pass"],
        rows=rows,
        version=__version__,
    )

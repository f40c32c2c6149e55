"""Baselines: the figures of a good run or suite, and the regressions of a new one against them.

`failover baseline save [RUN_DIR|SUITE_DIR]` stores every measured figure of every fault (p50, p90,
p95, p99, max, min, mean over the trials) in `reports/baselines/<time>.json` (or `--out PATH`).
`failover run ... --baseline PATH|latest` compares each SLO's gated statistic with the baseline's:
worse by more than the SLO's tolerance (`slos.regression`, `--tolerance`, else `DEFAULT_TOLERANCE`)
fails the gate with one sentence, e.g. "replica-kill p95 RTO 0.9 s -> 1.6 s, +78%, tolerance 25%".

Changes are relative to the baseline figure. For availability (a floor) they are of the shortfall,
1 - availability, so 99.9% -> 99.8% is +100%. A time that moves by no more than one bucket
(`slos.bucket`, what an RTO can resolve) is never a regression, whatever the percentage.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import BadInput
from harness.history import git_revision
from harness.scenario import DEFAULT_TOLERANCE, FLOORS, SLOs, parse_tolerance
from harness.trials import (
    PER_RUN,
    FaultFigures,
    Gate,
    ScenarioGate,
    fault_figures,
    show,
)

SCHEMA_VERSION = 1
LATEST = "latest"
_LABELS = {
    "rto": "RTO", "ttd": "TTD", "rpo": "RPO", "quality_rto": "quality RTO", "later_outages": "later outage",
    "latency_p50": "latency p50", "latency_p95": "latency p95", "latency_p99": "latency p99",
}  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BaselineScenario(_Model):
    trials: int
    faults: list[FaultFigures]


class Baseline(_Model):
    """A baseline file. In `figures`, a null statistic is infinite (a trial never recovered)."""

    schema_version: int = SCHEMA_VERSION
    saved_at: float
    source: str
    """The run or suite folder it was saved from."""
    git_revision: str | None = None
    scenarios: dict[str, BaselineScenario]


def baselines_dir(reports_dir: Path) -> Path:
    return reports_dir / "baselines"


def newest_output(reports_dir: Path) -> Path:
    """The newest suite or run folder under `reports_dir` (folder names start with their time)."""
    found = [p.parent for pattern in ("*/index.json", "*/result.json") for p in reports_dir.glob(pattern)]
    if not found:
        raise BadInput(f"no run or suite in {reports_dir}", "run `failover run SCENARIO` first, or name a folder")
    return max(found, key=lambda path: (path.name[:15], path.name.endswith("-suite")))


def baseline_from(folder: Path) -> Baseline:
    """A baseline from a suite folder (its `index.json`) or a run folder (its `result.json`)."""
    index, result = folder / "index.json", folder / "result.json"
    if index.is_file():
        scenarios = _from_index(_read_json(index))
    elif result.is_file():
        scenarios = _from_result(_read_json(result))
    else:
        raise BadInput(f"{folder} has neither index.json nor result.json", "name a suite or run folder under reports/")
    return Baseline(saved_at=time.time(), source=str(folder), git_revision=git_revision(), scenarios=scenarios)


def _read_json(path: Path) -> dict:  # type: ignore[type-arg]
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError) as error:
        raise BadInput(f"cannot read {path}: {error}", "name a folder written by `failover run`") from None


def _from_index(document: Mapping) -> dict[str, BaselineScenario]:  # type: ignore[type-arg]
    if document.get("schema_version", 1) < 2:
        raise BadInput("this suite index has no figures (schema_version 1)", "save a baseline from a newer suite")
    return {
        entry["scenario"]: BaselineScenario(
            trials=entry["trials"], faults=[FaultFigures.model_validate(f) for f in entry["figures"]]
        )
        for entry in document["scenarios"]
    }


def _from_result(document: Mapping) -> dict[str, BaselineScenario]:  # type: ignore[type-arg]
    faults = [fault_figures([fault]) for fault in document.get("faults", [])]
    return {document["scenario"]: BaselineScenario(trials=1, faults=faults)}


def save_baseline(folder: Path, out: Path) -> Path:
    baseline = baseline_from(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(baseline.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return out


def default_path(reports_dir: Path) -> Path:
    return baselines_dir(reports_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}.json"


def load_baseline(spec: str, reports_dir: Path) -> tuple[Path, Baseline]:
    """(its path, the baseline): `spec` is a file or 'latest' (the newest in reports/baselines/);
    BadInput (exit 2) when missing or unreadable."""
    path = _latest(reports_dir) if spec == LATEST else Path(spec)
    if not path.is_file():
        raise BadInput(f"baseline {path} does not exist", "save one with `failover baseline save`, or pass its path")
    try:
        return path, Baseline.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as error:
        raise BadInput(f"{path} is not a baseline file: {error}", "save one with `failover baseline save`") from None


def _latest(reports_dir: Path) -> Path:
    saved = sorted(baselines_dir(reports_dir).glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not saved:
        raise BadInput(f"no baseline in {baselines_dir(reports_dir)}", "save one with `failover baseline save`")
    return saved[-1]


def parse_tolerances(values: list[str]) -> dict[str, float]:
    """`--tolerance rto=10%` (repeatable) -> {'rto': 0.1}."""
    parsed = {}
    for value in values:
        metric, _, share = value.partition("=")
        if not share or metric not in SLOs.model_fields["regression"].annotation.model_fields:  # type: ignore[union-attr]
            raise BadInput(f"--tolerance '{value}' is not METRIC=PERCENT", "e.g. --tolerance rto=10%")
        try:
            parsed[metric] = parse_tolerance(share)
        except ValueError as error:
            raise BadInput(f"--tolerance '{value}': {error}", "e.g. --tolerance rto=10%") from None
    return parsed


def compare(gate: ScenarioGate, baseline: Baseline, slos: SLOs | None, overrides: Mapping[str, float]) -> ScenarioGate:
    """`gate` with each row's baseline and change, regressions failing it, and what was said in notes."""
    base = baseline.scenarios.get(gate.scenario)
    if base is None:
        return gate.model_copy(update={"notes": [*gate.notes, f"no baseline for {gate.scenario}: not compared"]})
    faults = {fault.index: fault for fault in base.faults}
    several = len({row.fault_index for row in gate.gates}) > 1
    rows, said = [], []
    for row in gate.gates:
        compared = _compare_row(gate.scenario, row, faults.get(row.fault_index), slos, overrides, several)
        rows.append(compared)
        if compared.regression:
            said.append(compared.regression)
    regressed = [row for row in rows if row.regressed]
    verdict, reason = gate.verdict, gate.reason
    if regressed and verdict == "pass":
        verdict, reason = "fail", regressed[0].regression or ""
    return gate.model_copy(update={"gates": rows, "verdict": verdict, "reason": reason, "notes": [*gate.notes, *said]})


def _compare_row(
    scenario: str, row: Gate, base: FaultFigures | None, slos: SLOs | None, overrides: Mapping[str, float], several: bool
) -> Gate:
    if base is None or base.label != row.fault or row.measured is None:
        return row
    floor = row.metric in FLOORS
    stat = ("min" if floor else "max") if row.statistic == PER_RUN else row.statistic
    figures = base.figures.get(row.metric)
    if figures is None or stat not in figures.stats:
        return row
    old = math.inf if figures.stats[stat] is None else float(figures.stats[stat])  # type: ignore[arg-type]
    new = row.measured
    tolerance = _tolerance(row.metric, slos, overrides)
    change = _change(old, new, floor)
    slack = slos.bucket if slos is not None and row.unit == "s" else 0.0
    worse_by = (new - old) * (-1 if floor else 1)
    regressed = change > tolerance and (math.isinf(worse_by) or worse_by > slack + 1e-12)
    improved = change < 0
    where = f" fault {row.fault_index + 1} ({row.fault})" if several else ""
    what = f"{'' if row.statistic == PER_RUN else stat + ' '}{_LABELS.get(row.metric, row.metric.replace('_', ' '))}"
    sentence = f"{scenario}{where} {what} {show(old, row.unit)} -> {show(new, row.unit)}, {percent_change(change, new)}"
    if regressed:
        text = f"{sentence}, tolerance {tolerance * 100:g}%"
    elif improved:
        text = f"{sentence}, improved (tolerance {tolerance * 100:g}%)"
    else:
        text = None
    return row.model_copy(
        update={"baseline": old, "change": change, "regression": text, "regressed": regressed}
    )


def _tolerance(metric: str, slos: SLOs | None, overrides: Mapping[str, float]) -> float:
    metric = "rto" if metric == "later_outages" else metric
    if metric in overrides:
        return overrides[metric]
    given = None if slos is None else getattr(slos.regression, metric, None)
    return DEFAULT_TOLERANCE if given is None else float(given)


def _change(old: float, new: float, floor: bool) -> float:
    """(new - old) / old in the metric's 'worse' direction (of the shortfall for a floor)."""
    if floor:
        old, new = 1 - old, 1 - new
    if old == new:
        return 0.0
    if math.isinf(old):
        return -1.0
    if math.isinf(new) or old == 0:
        return math.inf if new > old else -1.0
    return (new - old) / old


def percent_change(change: float, new: float) -> str:
    """'+78%', or in words when the baseline was 0 or the figure is now never."""
    if math.isinf(change):
        return "now never" if math.isinf(new) else "up from none"
    return f"{change * 100:+.0f}%"

"""One scenario run on several profiles of the reference stack, side by side (`failover compare`).

Per fault (matched by its place in the timeline): TTD, RTO, failed requests
of all requests, and p99 latency of the successful requests sent in the fault
window, for each profile, and each one's ratio to the first profile's
(`default / tuned`). A figure is never invented:
- a TTD that never came (not detected) and an RTO that never came (not
  recovered) are later than any measured one: infinite in a ratio, as the
  release gate counts a trial that never recovered (`harness/trials.py`);
- a figure that was not measured (the reason is the run's), or a fault a run
  did not reach, has no ratio: "n/a";
- x / 0 is "∞" and 0 / 0 is "same (both 0)".
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from pydantic import BaseModel, ConfigDict

from harness import __version__
from harness.report import formatting as fmt
from harness.report.html import template_environment
from harness.result import FaultScore, RunResult

COMPARE_SCHEMA_VERSION = 1
Unit = Literal["s", "count"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Cell(_Model):
    """One profile's figure for one metric of one fault."""

    value: float | None
    """The figure; None when there is none (see `text`)."""
    never: bool = False
    """Not detected / not recovered: later than any measured figure (infinite in a ratio)."""
    text: str
    """As the report shows it: '312 ms', 'not detected', '3 of 1,034', 'not measured (why)'."""


class Ratio(_Model):
    value: float | None
    """This profile's figure over the first profile's; None when infinite, equal zeros or n/a (see `text`)."""
    text: str
    """'13.2×', '∞', 'same (both 0)', 'n/a'."""


class MetricRow(_Model):
    metric: str
    """'ttd', 'rto', 'failed_requests', 'latency_p99_s'."""
    label: str
    unit: Unit
    cells: list[Cell]
    """One per profile, in the order of `Comparison.profiles`."""
    ratios: list[Ratio]
    """Each profile after the first against the first."""


class FaultComparison(_Model):
    index: int
    fault: str
    """e.g. 'pause model-a'."""
    rows: list[MetricRow]


class ProfileRun(_Model):
    profile: str
    verdict: str
    reason: str | None
    report: str
    """The run's report.html, relative to the comparison's folder."""
    requests: int
    failed: int


class Comparison(_Model):
    schema_version: int = COMPARE_SCHEMA_VERSION
    scenario: str
    backend: str
    profiles: list[str]
    runs: list[ProfileRun]
    faults: list[FaultComparison]
    started_at: float
    finished_at: float
    harness_version: str = __version__


@dataclass(frozen=True)
class ProfileResult:
    """One profile's run: its result and its folder."""

    profile: str
    result: RunResult
    run_dir: Path


@dataclass(frozen=True)
class _Metric:
    name: str
    label: str
    unit: Unit
    cell: Callable[[FaultScore], Cell]


def _ttd(score: FaultScore) -> Cell:
    if "ttd" in score.not_measured:
        return Cell(value=None, text=fmt.not_measured(score.not_measured["ttd"]))
    if score.ttd_s is None:
        return Cell(value=None, never=True, text="not detected")
    return Cell(value=score.ttd_s, text=fmt.seconds(score.ttd_s))


def _rto(score: FaultScore) -> Cell:
    if score.rto_s is None:
        return Cell(value=None, never=True, text="not recovered")
    return Cell(value=score.rto_s, text=fmt.seconds(score.rto_s))


def _failed(score: FaultScore) -> Cell:
    return Cell(value=score.failed_requests, text=f"{fmt.count(score.failed_requests)} of {fmt.count(score.requests)}")


def _p99(score: FaultScore) -> Cell:
    if score.latency_p99_s is None:
        return Cell(value=None, text="no successful request")
    return Cell(value=score.latency_p99_s, text=fmt.seconds(score.latency_p99_s))


METRICS = (
    _Metric("ttd", "Time to detect", "s", _ttd),
    _Metric("rto", "RTO", "s", _rto),
    _Metric("failed_requests", "Failed requests", "count", _failed),
    _Metric("latency_p99_s", "p99 latency in the fault", "s", _p99),
)
NOT_REACHED = Cell(value=None, text="no result (the run did not reach this fault)")


def ratio(other: Cell, base: Cell) -> Ratio:
    """`other / base` by the rules of this module's docstring."""
    numerator, denominator = _as_number(other), _as_number(base)
    if numerator is None or denominator is None:
        return Ratio(value=None, text="n/a")
    if math.isinf(numerator) and math.isinf(denominator):
        return Ratio(value=None, text="n/a (neither came)")
    if denominator == 0:
        return Ratio(value=None, text="same (both 0)" if numerator == 0 else "∞")
    if math.isinf(numerator):
        return Ratio(value=None, text="∞")
    value = numerator / denominator
    return Ratio(value=value, text=f"{value:.3g}×")


def _as_number(cell: Cell) -> float | None:
    """The figure, infinite when it never came, None when there is none."""
    if cell.never:
        return math.inf
    return cell.value


def compare(results: Sequence[ProfileResult], out_dir: Path) -> Comparison:
    """The comparison of the runs (the first is the base of every ratio); report links relative to `out_dir`."""
    if len(results) < 2:
        raise ValueError("a comparison needs at least two runs")
    first = results[0].result
    count = max(len(r.result.faults) for r in results)
    faults = [_fault(index, results) for index in range(count)]
    return Comparison(
        scenario=first.scenario,
        backend=first.backend,
        profiles=[r.profile for r in results],
        runs=[_run(r, out_dir) for r in results],
        faults=faults,
        started_at=min(r.result.started_at for r in results),
        finished_at=max(r.result.finished_at for r in results),
    )


def _fault(index: int, results: Sequence[ProfileResult]) -> FaultComparison:
    scores = [r.result.faults[index] if index < len(r.result.faults) else None for r in results]
    label = next(fmt.fault_label(score.fault) for score in scores if score is not None)
    rows = []
    for metric in METRICS:
        cells = [NOT_REACHED if score is None else metric.cell(score) for score in scores]
        ratios = [ratio(cell, cells[0]) for cell in cells[1:]]
        rows.append(MetricRow(metric=metric.name, label=metric.label, unit=metric.unit, cells=cells, ratios=ratios))
    return FaultComparison(index=index, fault=label, rows=rows)


def _run(run: ProfileResult, out_dir: Path) -> ProfileRun:
    result = run.result
    link = PurePath(os.path.relpath(run.run_dir / "report.html", out_dir)).as_posix()
    return ProfileRun(
        profile=run.profile, verdict=result.verdict, reason=result.reason, report=link,
        requests=result.requests.total, failed=result.requests.failed,
    )  # fmt: skip


def write_comparison(results: Sequence[ProfileResult], out_dir: Path) -> dict[str, Path]:
    """Write out_dir/compare.json and out_dir/compare.html; return {'html': ..., 'json': ...}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    comparison = compare(results, out_dir)
    json_path, html_path = out_dir / "compare.json", out_dir / "compare.html"
    json_path.write_text(json.dumps(comparison.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page = template_environment().get_template("compare.html.j2").render(comparison=comparison, version=__version__)
    html_path.write_text(page, encoding="utf-8")
    return {"html": html_path, "json": json_path}

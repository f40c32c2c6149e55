"""`report.html`: one self-contained page (inline CSS, chart as a data URI, no external URLs)."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import NamedTuple

import jinja2
import pandas as pd

from harness import __version__
from harness.environment import describe
from harness.report import formatting as fmt
from harness.report.charts import quality_marks_of, recoveries_of, timeline_png
from harness.result import FaultScore, RunResult

TEMPLATES = Path(__file__).parent / "templates"
FILTERS = {
    "seconds": fmt.seconds,
    "fraction": fmt.fraction,
    "bracket": fmt.bracket,
    "count": fmt.count,
    "offset": fmt.offset,
    "span": fmt.span,
    "slo_target": fmt.slo_target,
    "slo_measured": fmt.slo_measured,
    "rate": fmt.rate,
    "ttd": fmt.ttd,
    "signed": fmt.signed,
    "later_outage": fmt.later_outage,
    "inject_call": fmt.inject_call,
    "unattributed": fmt.unattributed,
    "phase": fmt.phase,
    "rollout_seen": fmt.rollout_seen,
    "environment": describe,
    "probe_schedule": fmt.probe_schedule,
}


def write_html(
    result: RunResult, buckets: pd.DataFrame, out_dir: Path | str, server_states: pd.DataFrame | None = None
) -> Path:
    """Write `<out_dir>/report.html` and return its path; no chart when `buckets` is empty."""
    path = Path(out_dir) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    page = template_environment().get_template("report.html.j2").render(
        result=result,
        chart=None if buckets.empty else _chart_base64(result, buckets, server_states),
        slos_met=sum(slo.passed for score in result.faults for slo in score.slos),
        slos_total=sum(len(score.slos) for score in result.faults),
        version=__version__,
        not_measured_schedule=fmt.NOT_MEASURED_SCHEDULE,
        stack_logs=sorted(log.stem for log in (path.parent / "logs").glob("*.log")),
    )
    path.write_text(page, encoding="utf-8")
    return path


def _chart_base64(result: RunResult, buckets: pd.DataFrame, server_states: pd.DataFrame | None) -> str:
    windows = [score.fault for score in result.faults]
    marks = quality_marks_of(result.faults)
    png = timeline_png(buckets, windows, recoveries_of(result.faults), result.started_at, server_states, marks)
    return base64.b64encode(png).decode("ascii")


class Card(NamedTuple):
    """One metric box of a fault: its value, or "not measured" with the reason as its detail."""

    label: str
    value: str
    detail: str
    measured: bool


def quality_cards(score: FaultScore) -> list[Card]:
    """The quality boxes of a fault; none when nothing about its answers was measured."""
    if fmt.quality(score) is None:
        return []
    q, missing = score.quality, score.not_measured
    versions = ", ".join(f"{replica} {version}" for replica, version in q.versions_at_injection.items())
    below = f"served in {fmt.seconds(q.bad_prediction_s)} of buckets below the accuracy target"
    changed = fmt.version_moment(score, q.versions_changed_s, "versions")
    restored = fmt.version_moment(score, q.rollback_verified_s, "rollback")
    rows = [
        ("Quality RTO", score.quality_rto_s, fmt.quality_rto(score), "until accuracy was back", "quality_rto"),
        ("Bad predictions", q.bad_predictions, fmt.count(q.bad_predictions or 0), below, "bad_predictions"),
        ("Degraded share", q.degraded_share, fmt.degraded_share(score), "of the window's answers", "degraded_share"),
        ("Versions changed", q.versions_changed_s, changed, f"every replica off its own: {versions}", "versions"),
        ("Rollback verified", q.rollback_verified_s, restored, "every replica back on its version", "rollback"),
    ]
    return [_card(*row[:4], missing.get(row[4])) for row in rows]


def _card(label: str, measured: float | None, value: str, detail: str, why_not: str | None) -> Card:
    if why_not:
        return Card(label, "not measured", why_not, measured=False)
    return Card(label, value, detail, measured=measured is not None)


@cache
def template_environment() -> jinja2.Environment:
    """The one Jinja environment of every HTML report (the run's and the suite's), with the format filters."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS | {"quality_cards": quality_cards})
    return environment

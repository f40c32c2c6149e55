"""`report.html`: one self-contained page (inline CSS, chart as a data URI, no external URLs)."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

import jinja2
import pandas as pd

from harness import __version__
from harness.report import formatting as fmt
from harness.report.charts import recoveries_of, timeline_png
from harness.result import RunResult

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
    )
    path.write_text(page, encoding="utf-8")
    return path


def _chart_base64(result: RunResult, buckets: pd.DataFrame, server_states: pd.DataFrame | None) -> str:
    windows = [score.fault for score in result.faults]
    png = timeline_png(buckets, windows, recoveries_of(result.faults), result.started_at, server_states)
    return base64.b64encode(png).decode("ascii")


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
    environment.filters.update(FILTERS)
    return environment

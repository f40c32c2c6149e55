"""Every report of a run: result.json, report.html, junit.xml and summary.md.

`write_reports` is the one entry point the runner needs; the writers are
importable on their own (e.g. `write_junit` for several runs at once).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.report.html import write_html
from harness.report.json_report import write_result
from harness.report.junit import write_junit
from harness.report.markdown import summary_markdown
from harness.result import RunResult

__all__ = ["write_reports"]


def write_reports(
    result: RunResult, buckets: pd.DataFrame, out_dir: Path | str, server_states: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Write all four reports into `out_dir`; returns {'json'|'html'|'junit'|'markdown': path}.

    `server_states`: HAProxy's (t, server, state) changes, drawn as a lane of the timeline."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.md"
    summary.write_text(summary_markdown(result), encoding="utf-8")
    return {
        "json": write_result(result, out),
        "html": write_html(result, buckets, out, server_states),
        "junit": write_junit([result], out / "junit.xml"),
        "markdown": summary,
    }

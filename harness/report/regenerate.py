"""The reports of a stored run (or suite) written again from its records (`failover report`).

For a report format change, or a run copied from CI: result.json is read back,
the chart's buckets are cut again from requests.parquet exactly as the runner
cuts them, and report.html, junit.xml, summary.md and result.json (in the
current schema) are rewritten. Scores are not recomputed: they are the
result's. A suite folder (index.json) has each of its runs regenerated, then
its index.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from harness import scoring
from harness.errors import BadInput
from harness.report import write_reports
from harness.report.json_report import read_result
from harness.report.suite import SuiteRun, write_suite_index
from harness.result import RunResult

BUCKET_S = 1.0
"""The chart's bucket width, as the runner draws it."""
_NOT_A_RUN_TIP = (
    "point at a run folder (reports/<time>-<scenario>/, with result.json) or a suite folder (with index.json)"
)


def regenerate(folder: Path) -> list[SuiteRun]:
    """Every run of `folder` (a run, or a suite and its runs) with its reports rewritten."""
    if not folder.is_dir():
        raise BadInput(f"{folder}: no such folder", _NOT_A_RUN_TIP)
    if (folder / "index.json").exists():
        runs = [regenerate_run(run_dir) for run_dir in suite_run_dirs(folder)]
        write_suite_index(runs, folder)
        return runs
    if (folder / "result.json").exists():
        return [regenerate_run(folder)]
    raise BadInput(f"{folder}: not a run folder (no result.json) nor a suite folder (no index.json)", _NOT_A_RUN_TIP)


def suite_run_dirs(folder: Path) -> list[Path]:
    """The run folders an index.json lists (each run's `report` link is relative to the suite folder)."""
    index = folder / "index.json"
    try:
        runs = json.loads(index.read_text(encoding="utf-8"))["runs"]
        return [(folder / run["report"]).parent.resolve() for run in runs]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadInput(f"{index}: not a suite index ({error})", "restore it from the suite's folder") from error


def regenerate_run(run_dir: Path) -> SuiteRun:
    result = read_result(run_dir / "result.json")
    records = _records(run_dir / "requests.parquet")
    write_reports(result, chart_buckets(result, records), run_dir, _server_states(run_dir / "server_states.csv"))
    return SuiteRun(result, run_dir)


def chart_buckets(result: RunResult, records: pd.DataFrame) -> pd.DataFrame:
    """The chart's buckets as the runner cut them: from the whole second after the run's start in which
    the first request was sent, to the end of the load (the last request, for a result without it)."""
    if records.empty:
        return pd.DataFrame()
    start = result.started_at + max(0.0, float(np.floor(records["sent_at"].min() - result.started_at)))
    end = result.load_ended_at if result.load_ended_at is not None else float(records["sent_at"].max()) + 1e-6
    return scoring.bucket_series(records, start, end, BUCKET_S)


def _records(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()  # an errored run sent nothing
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise BadInput(f"{path}: cannot be read ({error})", "copy it again from the run folder") from error


def _server_states(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, dtype={"server": str, "state": str})
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: cannot be read ({error})", "copy it again from the run folder") from error

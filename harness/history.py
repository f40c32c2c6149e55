"""The run history: `reports/history.jsonl`, one line per scenario per `failover run`, for trends.

Each line: when, the scenario, its verdict over its trials, flaky, trials, backend, the harness's git
revision (when it runs from a checkout), and per fault p50/p95/max of RTO and TTD and of the failed
requests. A null figure is infinite when its `*_never` count is above 0 (a trial never recovered or
was never detected), otherwise not measured.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.stack.spec import REPO_ROOT
from harness.trials import FaultFigures, ScenarioGate

HISTORY_FILE = "history.jsonl"
_FIGURES = {"rto": "rto", "ttd": "ttd", "failed_requests": "failed_requests"}
_STATS = ("p50", "p95", "max")


def git_revision(repo: Path = REPO_ROOT) -> str | None:
    """The short commit of `repo`, or None outside a git checkout (or without git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def history_line(gate: ScenarioGate, backend: str, at: float, revision: str | None) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
        "at": at,
        "scenario": gate.scenario,
        "verdict": gate.verdict,
        "flaky": gate.flaky,
        "trials": gate.trials,
        "backend": backend,
        "git_revision": revision,
        "faults": [_fault(fault) for fault in gate.faults],
    }


def _fault(fault: FaultFigures) -> dict[str, Any]:
    row: dict[str, Any] = {"index": fault.index, "fault": fault.label}
    for metric, key in _FIGURES.items():
        figures = fault.figures.get(metric)
        unit = "" if metric == "failed_requests" else "_s"
        for stat in _STATS:
            row[f"{key}_{stat}{unit}"] = None if figures is None else figures.stats.get(stat)
        if metric != "failed_requests":
            row[f"{key}_never"] = 0 if figures is None else figures.never
    return row


def append_history(path: Path, gates: Sequence[tuple[ScenarioGate, str]], at: float | None = None) -> None:
    """One line per (scenario gate, backend) appended to `path` (created with its folder)."""
    when, revision = time.time() if at is None else at, git_revision()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for gate, backend in gates:
            handle.write(json.dumps(history_line(gate, backend, when, revision), ensure_ascii=False) + "\n")


def read_history(path: Path, scenario: str, last: int = 20) -> list[dict[str, Any]]:
    """The last `last` lines of `scenario`, oldest first; unreadable lines are skipped (a crash mid-write)."""
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("scenario") == scenario:
            lines.append(line)
    return lines[-last:]

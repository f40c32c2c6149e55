"""`failover report RUN_DIR`: the reports of a stored run (or suite) written again from its records
(`harness/report/regenerate.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.commands.options import console


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (result.json) or a suite folder (index.json).")],
) -> None:
    """Regenerate report.html, junit.xml, summary.md and result.json from a run's stored records."""
    from harness.report.regenerate import regenerate  # pandas and matplotlib: only for this command

    for run in regenerate(run_dir):
        line = f"{run.run_dir}: {run.result.scenario} ({run.result.verdict}) reports written"
        console.print(escape(line), soft_wrap=True)

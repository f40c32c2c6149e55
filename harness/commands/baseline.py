"""`failover baseline save`: keep the figures of a good run or suite to compare later runs with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.commands.options import REPORTS_DIR, console

baseline_app = typer.Typer(help="Baselines: figures of a good run that later runs are compared with (--baseline).", no_args_is_help=True)


@baseline_app.command("save")
def save_command(
    folder: Annotated[Optional[Path], typer.Argument(metavar="[RUN_DIR|SUITE_DIR]", help="A run or suite folder (default: the newest under --reports-dir).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to write it (default: REPORTS_DIR/baselines/<time>.json).")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where runs are written.")] = REPORTS_DIR,
) -> None:
    """Store every figure of every fault (p50/p90/p95/p99/max/min/mean over trials) as a baseline."""
    from harness.baseline import default_path, newest_output, save_baseline

    source = folder or newest_output(reports_dir)
    path = save_baseline(source, out or default_path(reports_dir))
    console.print(f"baseline from {source}: {path}", highlight=False, soft_wrap=True)

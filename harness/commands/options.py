"""Options and the console shared by the `failover` commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from harness.stack import Backend
from harness.stack.profiles import check_profile, profile_names
from harness.stack.project import check_project_name
from harness.stack.spec import REPO_ROOT

CI_LOG_WIDTH = 200
"""Off a terminal (a CI log, a pipe) rich would cut tables at 80 columns: CI logs are read wide."""


def _console() -> Console:
    """The terminal's width in a terminal (or $COLUMNS); `CI_LOG_WIDTH` elsewhere."""
    console = Console()
    return console if console.is_terminal or os.environ.get("COLUMNS") else Console(width=CI_LOG_WIDTH)


console = _console()
REPORTS_DIR = REPO_ROOT / "reports"
"""Where runs, suites, baselines and the history are written by default."""

BackendOption = Annotated[
    Backend,
    typer.Option("--backend", "-b", envvar="FAILOVER_BACKEND", help="compose (Docker) or local (host processes)."),
]
ProjectOption = Annotated[
    str,
    typer.Option(
        "--project", "-p", envvar="FAILOVER_PROJECT", callback=check_project_name, help="Stack name, e.g. failover."
    ),
]
GatewayPort = Annotated[int, typer.Option(envvar="FAILOVER_GATEWAY_PORT", help="Gateway port on 127.0.0.1.")]
StatsPort = Annotated[int, typer.Option(envvar="FAILOVER_STATS_PORT", help="HAProxy stats/Prometheus port.")]
ToxiproxyPort = Annotated[int, typer.Option(envvar="FAILOVER_TOXIPROXY_PORT", help="Toxiproxy API port.")]
ServiceArgument = Annotated[str, typer.Argument(help="A service of the stack, e.g. model-a.")]
TargetOption = Annotated[
    Optional[Path],
    typer.Option("--target", "-t", help="A target file: test this stack instead of the scenarios' own target."),
]


def _check_optional_profile(name: str | None) -> str | None:
    return None if name is None else check_profile(name)


_PROFILE_HELP = f"The reference stack's settings: {' or '.join(profile_names())} (stock; docs/profiles.md)."
ProfileOption = Annotated[str, typer.Option(callback=check_profile, help=_PROFILE_HELP)]
ProfileOverride = Annotated[
    Optional[str], typer.Option("--profile", callback=_check_optional_profile, help=f"{_PROFILE_HELP} Overrides the scenarios' stack.profile.")
]

"""`failover run` (for people at a terminal) and `failover ci` (for a CI job's log): the same suite
(`harness/suite_run.py`), told differently."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from harness.commands.gameday import (
    ConfirmGatesOption,
    DashboardOption,
    DashboardPortOption,
)
from harness.commands.options import (
    REPORTS_DIR,
    GatewayPort,
    ProfileOverride,
    ProjectOption,
    StatsPort,
    TargetOption,
    ToxiproxyPort,
    console,
)
from harness.commands.scenarios import PathsArgument
from harness.stack import StackSettings

if TYPE_CHECKING:
    from harness.result import RunResult

BackendOverride = Annotated[Optional[str], typer.Option("--backend", "-b", help="Override the scenarios' backend: compose or local.")]
ReportsDir = Annotated[Path, typer.Option(help="Where each run's folder is written.")]
Trials = Annotated[Optional[int], typer.Option(min=1, max=100, help="Run each scenario this many times (overrides its `trials`).")]
BaselineOption = Annotated[Optional[str], typer.Option(help="Compare with a baseline file, or 'latest' (the newest in REPORTS_DIR/baselines/); a regression fails.")]
Tolerance = Annotated[Optional[list[str]], typer.Option(help="A regression tolerance, METRIC=PERCENT (e.g. rto=10%); repeatable; overrides the scenarios' `slos.regression`.")]
SummaryMd = Annotated[Optional[Path], typer.Option("--summary-md", help="Append a Markdown job summary here (also to $GITHUB_STEP_SUMMARY when set).")]
CI_SCENARIOS = Path("scenarios/ci")


def run_command(
    paths: PathsArgument,
    backend: BackendOverride = None,
    project: ProjectOption = "failover",
    target: TargetOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Also write one JUnit XML for every run here.")] = None,
    summary_md: SummaryMd = None,
    reports_dir: ReportsDir = REPORTS_DIR,
    keep_up: Annotated[bool, typer.Option(help="Leave the stack up afterwards.")] = False,
    trials: Trials = None,
    baseline: BaselineOption = None,
    tolerance: Tolerance = None,
    gateway_port: GatewayPort = 8080,
    stats_port: StatsPort = 8404,
    toxiproxy_port: ToxiproxyPort = 8474,
    dashboard: DashboardOption = False,
    dashboard_port: DashboardPortOption = 0,
    confirm_gates: ConfirmGatesOption = False,
    profile: ProfileOverride = None,
) -> None:
    """Run scenarios: load, faults on a timeline, measured recovery, a report and a verdict (exit 1 when an SLO is missed)."""
    from harness.gameday.live import GameDayOptions  # the runner's imports (pandas, Locust): not for every command
    from harness.report.console import print_summary
    from harness.suite_run import SuiteRequest, run_suite, summary_paths

    settings = StackSettings(project=project, gateway_port=gateway_port, stats_port=stats_port, toxiproxy_port=toxiproxy_port)
    request = SuiteRequest(
        paths=paths, reports_dir=reports_dir, settings=settings, backend=backend, target=target, keep_up=keep_up,
        trials=trials, baseline=baseline, tolerances=tolerance or [], junit=junit,
        summaries=summary_paths(summary_md, os.environ),
        gameday=GameDayOptions(dashboard=dashboard, port=dashboard_port, confirm_gates=confirm_gates), profile=profile,
    )  # fmt: skip
    raise typer.Exit(run_suite(request, console, print_summary))


def ci_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Scenario files or folders (default: scenarios/ci).")] = None,
    backend: BackendOverride = None,
    project: ProjectOption = "failover",
    target: TargetOption = None,
    reports_dir: ReportsDir = REPORTS_DIR,
    trials: Trials = None,
    baseline: BaselineOption = None,
    tolerance: Tolerance = None,
    junit: Annotated[Optional[Path], typer.Option(help="JUnit XML of every run (default: REPORTS_DIR/junit.xml).")] = None,
    summary_md: SummaryMd = None,
) -> None:
    """`failover run` for a CI job: no live panel, tables at full width, one line per SLO (FAIL lines to
    grep; ::error annotations on GitHub Actions), JUnit and the job summary written, runbook gates
    confirmed at once; exit 0 (every gate met), 1 (an SLO missed or regressed), 2 (bad input, infrastructure)."""
    from harness.gameday.live import GameDayOptions
    from harness.suite_run import SuiteRequest, run_suite, summary_paths

    request = SuiteRequest(
        paths=paths or [CI_SCENARIOS], reports_dir=reports_dir, settings=StackSettings(project=project),
        backend=backend, target=target, trials=trials,
        baseline=baseline, tolerances=tolerance or [], junit=junit or reports_dir / "junit.xml",
        summaries=summary_paths(summary_md, os.environ), gameday=GameDayOptions(confirm_gates=True),
    )  # fmt: skip
    raise typer.Exit(run_suite(request, _ci_console(), print_ci_lines))


def print_ci_lines(result: RunResult, log: Console) -> None:
    """The run's summary table, then one line per SLO, then GitHub's annotations for the misses."""
    from harness.report.ci_log import github_annotations, on_github_actions, slo_lines
    from harness.report.console import print_summary

    print_summary(result, log)
    for line in slo_lines(result):
        log.print(line, markup=False, highlight=False, soft_wrap=True)
    if on_github_actions(os.environ):
        for annotation in github_annotations(result):
            log.print(annotation, markup=False, highlight=False, soft_wrap=True)


def _ci_console() -> Console:
    """Never a terminal's live panel, even when a CI runner allocates a TTY."""
    from harness.commands.options import CI_LOG_WIDTH

    return Console(width=CI_LOG_WIDTH, force_terminal=False, force_interactive=False, no_color=bool(os.environ.get("NO_COLOR")))


def register_run_commands(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("ci")(ci_command)

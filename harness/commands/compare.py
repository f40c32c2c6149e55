"""`failover compare SCENARIO`: the same scenario on each profile of the reference stack, side by side.

Each profile's run is a normal run (its own folder under the reports folder,
stack up and down); then one comparison report (`compare.html`,
`compare.json`) in `<time>-compare-<scenario>/`. Not a gate: exit 0 when every
run completed (whatever their verdicts), 2 on bad input or when a run ended in
an infrastructure error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from harness.commands.options import (
    REPORTS_DIR,
    GatewayPort,
    ProjectOption,
    StatsPort,
    ToxiproxyPort,
    console,
)
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, BadInput
from harness.stack import StackSettings
from harness.stack.profiles import check_profile, profile_names

if TYPE_CHECKING:
    from harness.report.compare import Comparison

_DEFAULT_PROFILES = ("tuned", "default")


def parse_profiles(given: list[str] | None) -> list[str]:
    """`--profiles tuned --profiles default` or `--profiles tuned,default`: at least two, each once, all known."""
    names = [name.strip() for item in (given or _DEFAULT_PROFILES) for name in item.split(",") if name.strip()]
    for name in names:
        check_profile(name)
    if len(names) < 2 or len(set(names)) != len(names):
        raise BadInput(
            f"--profiles {' '.join(names)}: a comparison needs two or more different profiles",
            f"e.g. --profiles tuned,default (profiles: {', '.join(profile_names())})",
        )
    return names


def compare_command(
    scenario: Annotated[Path, typer.Argument(help="One scenario file (of the reference stack).")],
    profiles: Annotated[
        Optional[list[str]],
        typer.Option(help="Profiles to run, the first is the base of the ratios: --profiles tuned,default (the default)."),
    ] = None,
    backend: Annotated[Optional[str], typer.Option("--backend", "-b", help="compose or local (default: the scenario's).")] = None,
    project: ProjectOption = "failover",
    reports_dir: Annotated[Path, typer.Option(help="Where each run's folder and the comparison's are written.")] = REPORTS_DIR,
    gateway_port: GatewayPort = 8080,
    stats_port: StatsPort = 8404,
    toxiproxy_port: ToxiproxyPort = 8474,
) -> None:
    """Run one scenario on each profile of the reference stack (tuned, default), one after the other, and
    write one report with TTD, RTO, failed requests and p99 per fault side by side, and their ratio."""
    from harness.commands.scenarios import load_all
    from harness.report.compare import ProfileResult, write_comparison  # pandas, matplotlib: only for this command
    from harness.report.console import print_summary
    from harness.runner import RunOptions, run_scenario
    from harness.suite_run import with_profiles

    names = parse_profiles(profiles)
    if backend not in (None, "local", "compose"):
        raise BadInput(f"unknown backend '{backend}'", "use --backend local or --backend compose")
    settings = StackSettings(project=project, gateway_port=gateway_port, stats_port=stats_port, toxiproxy_port=toxiproxy_port)
    loaded = load_all([scenario], settings, None, backend)
    if len(loaded) != 1:
        raise BadInput(f"{scenario}: holds {len(loaded)} scenarios", "compare takes one scenario file")
    targets = {name: with_profiles(loaded, name)[0] for name in names}  # a user's stack is refused here, before any run
    options = RunOptions(backend=backend, settings=settings, reports_dir=reports_dir)  # type: ignore[arg-type]
    results: list[ProfileResult] = []
    for name in names:
        _, loaded_scenario, target = targets[name]
        console.print(f"[bold]profile {name}[/]")
        _next_second()  # each run's folder is named by the second it starts in
        (run,) = run_scenario(loaded_scenario, target, options, console, trials=1)
        print_summary(run.result, console)
        results.append(ProfileResult(name, run.result, run.run_dir))
    out = reports_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-compare-{loaded[0][1].name}"
    written = write_comparison(results, out)
    print_comparison(_read(written["json"]), console)
    console.print(f"comparison: {written['html']}")
    raise typer.Exit(EXIT_BAD_INPUT if any(r.result.verdict == "error" for r in results) else EXIT_OK)


def _next_second() -> None:
    time.sleep(1.0 - time.time() % 1.0)


def _read(path: Path) -> Comparison:
    from harness.report.compare import Comparison

    return Comparison.model_validate_json(path.read_text(encoding="utf-8"))


def print_comparison(comparison: Comparison, out: Console) -> None:
    """One table per fault: metric, each profile's figure, each ratio to the first profile."""
    base = comparison.profiles[0]
    for fault in comparison.faults:
        table = Table(title=f"{comparison.scenario} · fault {fault.index + 1}: {fault.fault}", title_justify="left")
        table.add_column("metric")
        for profile in comparison.profiles:
            table.add_column(profile, justify="right")
        for profile in comparison.profiles[1:]:
            table.add_column(f"{profile} / {base}", justify="right")
        for row in fault.rows:
            table.add_row(row.label, *(cell.text for cell in row.cells), *(ratio.text for ratio in row.ratios))
        out.print(table)


def register_compare_command(app: typer.Typer) -> None:
    app.command("compare")(compare_command)

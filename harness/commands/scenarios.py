"""`failover run | validate | list | heal`: scenarios, from files to verdicts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from harness.commands.gameday import ConfirmGatesOption, DashboardOption, DashboardPortOption
from harness.commands.options import (
    GatewayPort,
    ProjectOption,
    StatsPort,
    TargetOption,
    ToxiproxyPort,
    console,
)
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_SLO_MISSED,
    BadInput,
    HarnessError,
)
from harness.scenario import Scenario
from harness.stack import Stack, StackSettings
from harness.stack.spec import REPO_ROOT
from harness.targets import Target, resolve_target

if TYPE_CHECKING:
    from harness.baseline import Baseline
    from harness.report.suite import SuiteRun
    from harness.trials import ScenarioGate

SCENARIOS_DIR = REPO_ROOT / "scenarios"
REPORTS_DIR = REPO_ROOT / "reports"
PathsArgument = Annotated[list[Path], typer.Argument(help="Scenario files or folders of them.")]


def load_all(
    paths: list[Path], settings: StackSettings, target_path: Path | None = None, backend: str | None = None
) -> list[tuple[Path, Scenario, Target]]:
    """Validate every scenario, and the target it runs against, before anything starts; all problems
    are reported together. `target_path` (`--target`) overrides the scenarios' own `target:`, `backend`
    (`--backend`) their own backend."""
    from harness.scenario_loader import discover

    loaded, problems = [], []
    targets: dict[Path | None, Target] = {}
    for path in discover(paths):
        try:
            loaded.append(_load_against_target(path, settings, target_path, targets, backend))
        except BadInput as error:
            problems.append(error)
    if problems:
        raise BadInput("\n".join(p.message for p in problems), problems[0].tip)
    if not loaded:
        raise BadInput(f"no scenario files in {', '.join(map(str, paths))}", "scenario files end in .yaml or .yml")
    return loaded


def _load_against_target(
    path: Path, settings: StackSettings, override: Path | None, targets: dict[Path | None, Target], backend: str | None
) -> tuple[Path, Scenario, Target]:
    """The scenario, its faults checked against what its target lets them hit."""
    from harness.scenario_loader import load_scenario

    alone = load_scenario(path)
    chosen = override or _scenario_target(alone, path)
    if chosen not in targets:
        targets[chosen] = resolve_target(chosen, settings)
    target = targets[chosen]
    runs_on = backend or alone.stack.backend or target.default_backend()
    opted_in = {
        "services": target.services(),
        "hops": target.hops(),
        "models": set(target.model_names()),
        "zones": set(target.zones()),
    }
    return path, load_scenario(path, **opted_in, backend=runs_on), target


def _scenario_target(scenario: Scenario, path: Path) -> Path | None:
    if scenario.target is None:
        return None
    return (path.parent / scenario.target).resolve()


def run_command(
    paths: PathsArgument,
    backend: Annotated[Optional[str], typer.Option("--backend", "-b", help="Override the scenarios' backend: compose or local.")] = None,
    project: ProjectOption = "failover",
    target: TargetOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Also write one JUnit XML for every run here.")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where each run's folder is written.")] = REPORTS_DIR,
    keep_up: Annotated[bool, typer.Option(help="Leave the stack up afterwards.")] = False,
    trials: Annotated[Optional[int], typer.Option(min=1, max=100, help="Run each scenario this many times (overrides its `trials`).")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="Compare with a baseline file, or 'latest' (the newest in REPORTS_DIR/baselines/); a regression fails.")] = None,
    tolerance: Annotated[Optional[list[str]], typer.Option(help="A regression tolerance, METRIC=PERCENT (e.g. rto=10%); repeatable; overrides the scenarios' `slos.regression`.")] = None,
    gateway_port: GatewayPort = 8080,
    stats_port: StatsPort = 8404,
    toxiproxy_port: ToxiproxyPort = 8474,
    dashboard: DashboardOption = False,
    dashboard_port: DashboardPortOption = 0,
    confirm_gates: ConfirmGatesOption = False,
) -> None:
    """Run scenarios: load, faults on a timeline, measured recovery, a report and a verdict (exit 1 when an SLO is missed)."""
    from harness.report.console import print_summary
    from harness.gameday.live import GameDayOptions
    from harness.runner import RunOptions, run_scenario

    if backend not in (None, "local", "compose"):
        raise BadInput(f"unknown backend '{backend}'", "use --backend local or --backend compose")
    from harness.baseline import load_baseline, parse_tolerances

    settings = StackSettings(project=project, gateway_port=gateway_port, stats_port=stats_port, toxiproxy_port=toxiproxy_port)
    overrides = parse_tolerances(tolerance or [])
    baseline_path, against = load_baseline(baseline, reports_dir) if baseline else (None, None)  # missing: exit 2 now
    scenarios = load_all(paths, settings, target, backend)
    gameday = GameDayOptions(dashboard=dashboard, port=dashboard_port, confirm_gates=confirm_gates)
    options = RunOptions(backend=backend, settings=settings, reports_dir=reports_dir, keep_up=keep_up, gameday=gameday)  # type: ignore[arg-type]
    runs: list[SuiteRun] = []
    gates: list[tuple[ScenarioGate, str]] = []
    for _, scenario, scenario_target in scenarios:
        scenario_runs = run_scenario(scenario, scenario_target, options, console, trials)
        for run in scenario_runs:
            print_summary(run.result, console)
        runs += scenario_runs
        gates.append((_gate(scenario, scenario_runs, against, overrides), scenario_runs[0].result.backend))
    _append_history(reports_dir, gates)
    _write_suite_outputs(runs, [gate for gate, _ in gates], reports_dir, junit, baseline_path)
    raise typer.Exit(suite_exit_code([gate.verdict for gate, _ in gates]))


def _gate(scenario: Scenario, runs: list[SuiteRun], against: Baseline | None, overrides: dict[str, float]) -> ScenarioGate:
    """The scenario's verdict over its trials (and against the baseline), printed one line per SLO when
    there is more than a single run's verdict to say."""
    from harness.baseline import compare
    from harness.trials import gate_lines, judge_scenario

    gate = judge_scenario(scenario.name, [run.result for run in runs], scenario.slos)
    if against is not None:
        gate = compare(gate, against, scenario.slos, overrides)
    if against is not None or len(runs) > 1 or scenario.slos.over_trials():
        for line in gate_lines(gate):
            console.print(line, highlight=False, soft_wrap=True, markup=False)
    return gate


def _append_history(reports_dir: Path, gates: list[tuple[ScenarioGate, str]]) -> None:
    from harness.history import HISTORY_FILE, append_history

    append_history(reports_dir / HISTORY_FILE, gates)


def suite_exit_code(verdicts: list[str]) -> int:
    """2 if any scenario hit an infrastructure error, else 1 if any missed an SLO (per run, over its
    trials, or against the baseline) or aborted, else 0 (verdicts: each scenario's gate)."""
    if "error" in verdicts:
        return EXIT_BAD_INPUT
    return EXIT_OK if all(verdict == "pass" for verdict in verdicts) else EXIT_SLO_MISSED


def _write_suite_outputs(
    runs: list[SuiteRun], gates: list[ScenarioGate], reports_dir: Path, junit: Path | None, baseline: Path | None
) -> None:
    """JUnit over every run when asked; an index (HTML and JSON) when there was more than one run, or a
    baseline to compare with."""
    from harness.history import HISTORY_FILE
    from harness.report.junit import write_junit
    from harness.report.suite import write_suite_index

    if junit is not None:
        write_junit([run.result for run in runs], junit)
        console.print(f"JUnit: {junit}")
    if len(runs) > 1 or baseline:
        out = reports_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-suite"
        shown = None if baseline is None else str(baseline)
        index = write_suite_index(runs, out, gates, history=reports_dir / HISTORY_FILE, baseline=shown)
        console.print(f"suite index: {index['html']}")


def validate_command(paths: PathsArgument, project: ProjectOption = "failover", target: TargetOption = None) -> None:
    """Check scenario files (and their targets) without running anything."""
    for path, scenario, scenario_target in load_all(paths, StackSettings(project=project), target):
        console.print(f"[green]ok[/] {path}: {scenario.name} (target {scenario_target.name})")


def list_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Folders or files (default: scenarios/).")] = None,
) -> None:
    """The shipped scenarios, one line each."""
    from harness.scenario_loader import summarize

    for path, scenario, _ in load_all(paths or [SCENARIOS_DIR], StackSettings()):
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        console.print(f"{shown}: {summarize(scenario)}", highlight=False, soft_wrap=True)


def heal_command(
    fault_id: Annotated[Optional[str], typer.Argument(metavar="[ID]", help="Revert only this fault (an id from `failover faults`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Everything (the default without an ID), said explicitly.")] = False,
    project: ProjectOption = "failover",
    backend: Annotated[Optional[str], typer.Option("--backend", "-b", help="Sweep only this backend's stack (default: local, and compose when Docker answers).")] = None,
    toxiproxy_port: ToxiproxyPort = 8474,
    force: Annotated[bool, typer.Option(help="Also revert the faults of runs whose harness is still running.")] = False,
    forget: Annotated[bool, typer.Option(help="Drop runs that cannot be healed (stack gone, journal deleted).")] = False,
) -> None:
    """Revert faults: one by its ID, or every fault any harness process injected on this machine (runs that
    died, `failover inject` without --for) from the journals, then leftovers on the project's stack found by
    the `failover-` toxic prefix, the backend's records (compose labels) and the model registry."""
    from harness.heal import heal

    if fault_id is not None:
        from harness.adhoc import heal_fault

        if all_:
            raise BadInput("give an ID or --all, not both", "failover heal ID  or  failover heal --all")
        console.print(f"[green]healed[/] {heal_fault(fault_id)}")
        return
    if backend not in (None, "local", "compose"):
        raise BadInput(f"unknown backend '{backend}'", "use --backend local or --backend compose")
    settings = StackSettings(project=project, toxiproxy_port=toxiproxy_port)
    done, failed = heal(force=force, forget=forget, sweep=_stacks_to_sweep(backend, settings))
    for line in done:
        console.print(f"[green]healed[/] {line}")
    if failed:
        raise HarnessError("not healed: " + "; ".join(failed), "is the stack still up? retry, or see the options: failover heal --help")
    if not done:
        console.print("nothing to heal")


def _stacks_to_sweep(backend: str | None, settings: StackSettings) -> list[Stack]:
    """The named backend's stack; by default the local one, and the compose one when Docker is there."""
    from harness.errors import DockerUnavailable, MissingBinary
    from harness.stack import open_stack

    if backend is not None:
        return [open_stack(backend, settings)]  # type: ignore[arg-type]
    stacks = [open_stack("local", settings)]
    try:
        compose = open_stack("compose", settings)
        compose.status()
    except (DockerUnavailable, MissingBinary):
        return stacks
    return [*stacks, compose]


def register_scenario_commands(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("validate")(validate_command)
    app.command("list")(list_command)
    app.command("heal")(heal_command)

"""`failover validate | list | heal`, and loading scenarios against their targets (`failover run` is in run.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.commands.options import (
    ProjectOption,
    TargetOption,
    ToxiproxyPort,
    console,
)
from harness.errors import BadInput, HarnessError
from harness.scenario import Scenario
from harness.stack import Stack, StackSettings
from harness.stack.spec import REPO_ROOT
from harness.targets import Target, resolve_target

SCENARIOS_DIR = REPO_ROOT / "scenarios"
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


def validate_command(paths: PathsArgument, project: ProjectOption = "failover", target: TargetOption = None) -> None:
    """Check scenario files (and their targets) without running anything."""
    from harness.suite_run import with_profiles

    for path, scenario, scenario_target in with_profiles(load_all(paths, StackSettings(project=project), target), None):
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
    app.command("validate")(validate_command)
    app.command("list")(list_command)
    app.command("heal")(heal_command)

"""`failover monkey`: a run whose faults a seeded monkey picks; the same seed replays the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from harness.commands.options import REPORTS_DIR, ProjectOption, TargetOption, console
from harness.commands.run import run_command
from harness.errors import BadInput
from harness.faults import fault_type, normalize_hop
from harness.monkey import Monkey, schedule
from harness.stack import StackSettings
from harness.targets import Target, resolve_target

DEFAULT_FAULTS = "kill,pause,latency"


def monkey_command(
    seed: Annotated[int, typer.Option(help="The same seed picks the same faults at the same times.")],
    for_: Annotated[str, typer.Option("--for", help="How long faults keep coming, e.g. 10m.")],
    mean_interval: Annotated[str, typer.Option(help="Mean time between two faults.")] = "10s",
    fault_duration: Annotated[str, typer.Option(help="How long each fault lasts.")] = "5s",
    faults: Annotated[str, typer.Option(help="Fault types to pick from, comma-separated.")] = DEFAULT_FAULTS,
    on: Annotated[Optional[str], typer.Option(help="Targets to pick from (default: the services serving a model and the hops into them).")] = None,
    availability: Annotated[str, typer.Option(help="Availability SLO in each fault window.")] = "99%",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the schedule; run nothing.")] = False,
    target: TargetOption = None,
    backend: Annotated[Optional[str], typer.Option("--backend", "-b", help="compose or local (default: the target's).")] = None,
    project: ProjectOption = "failover",
    reports_dir: Annotated[Path, typer.Option(help="Where the run's folder is written.")] = REPORTS_DIR,
) -> None:
    """Faults picked at random from an allowed set at a mean interval, under load, scored like any run;
    the schedule is in the run's journal and the same seed replays it."""
    chosen = resolve_target(target, StackSettings(project=project))
    types = [name.strip() for name in faults.split(",") if name.strip()]
    allowed = {name: _targets_for(name, chosen, on) for name in types}
    spec = {"seed": seed, "for": for_, "mean_interval": mean_interval, "fault_duration": fault_duration, "faults": allowed}
    scenario = {"name": f"monkey-{seed}", "monkey": spec, "slos": {"availability": availability}}
    if target is not None:
        scenario["target"] = str(target.resolve())
    if dry_run:
        for pick in schedule(Monkey.model_validate(spec)):
            console.print(f"{pick['at']:8.1f}s  {pick['action']} {pick['target']} for {pick['duration']:g}s", highlight=False)
        return
    with tempfile.TemporaryDirectory(prefix="failover-monkey-") as folder:
        path = Path(folder) / f"monkey-{seed}.yaml"
        path.write_text(yaml.safe_dump(scenario, sort_keys=False))
        run_command([path], backend=backend, project=project, reports_dir=reports_dir)


def _targets_for(name: str, target: Target, on: str | None) -> list[str]:
    """What `name` may hit: of `--on`, the items this type can act on; by default the services serving a
    model (all services when none does) and the hops into them, the models, the zones, the entry."""
    try:
        kind = fault_type(name).acts_on
    except KeyError:
        raise BadInput(f"unknown fault type '{name}'", "see failover fault-types") from None
    if on is None:
        return _default_targets(kind, target)
    able = _hittable(kind, target)
    picked = [item for item in (part.strip() for part in on.split(",")) if item and normalize_hop(item) in able]
    if not picked:
        raise BadInput(f"--on names nothing {name} can hit (it acts on a {kind})", f"e.g. --on {','.join(sorted(able)[:2])}")
    return picked


def _hittable(kind: str, target: Target) -> set[str]:
    by_kind = {"service": target.services(), "hop": target.hops(), "model": set(target.model_names()), "zone": set(target.zones())}
    return by_kind.get(kind, {"entry"})


def _default_targets(kind: str, target: Target) -> list[str]:
    serving = {service for model in target.model_names() for service in target.model(model).served_by}
    services = sorted(serving or target.services())
    if kind == "service":
        return services
    if kind == "hop":
        hops = sorted(hop for hop in target.hops() if any(hop.endswith(f"-{service}") for service in services))
        return hops or sorted(target.hops())
    if kind in ("model", "zone"):
        return sorted(_hittable(kind, target))
    return ["entry"]

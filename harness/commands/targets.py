"""`failover targets [FILE]`: what a target lets faults hit and what it can measure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from harness.commands.options import console
from harness.faults import acting_on
from harness.stack import StackSettings
from harness.targets import Target, resolve_target

NOT_MEASURED = "[yellow]not measured[/]"


def targets_command(
    path: Annotated[Optional[Path], typer.Argument(help="A target file (default: the reference stack).")] = None,
) -> None:
    """What a target lets faults hit (services, hops) and how it is measured (signals, store)."""
    target = resolve_target(path, StackSettings())
    facts = target.facts()
    console.print(f"[bold]{target.name}[/] ({target.kind}) {target.spec.description}", highlight=False)
    console.print(f"  file {facts['file']}\n  compose {facts['compose_file']} (sha256 {str(facts['compose_sha256'])[:12]})")
    console.print(f"  entry {target.spec.entry.method} {target.spec.entry.url}", highlight=False)
    console.print(_hittable(target))
    console.print(_measured(target))
    if target.spec.models:
        console.print(_models(target))


def _hittable(target: Target) -> Table:
    table = Table("faults may hit", "how", title=None, show_edge=False)
    for service in target.spec.services:
        table.add_row(service, f"service: {', '.join(acting_on('service'))}")
    for name, hop in target.spec.hops.items():
        how = f"inserted proxy to {hop.upstream}" if hop.upstream else f"existing proxy '{hop.proxy}'"
        table.add_row(name, f"hop: {', '.join(acting_on('hop'))} ({how})")
    return table


def _measured(target: Target) -> Table:
    table = Table("measure", "from", show_edge=False)
    for server, signal in target.spec.signals.items():
        table.add_row(f"TTD of {server}", signal.kind)
    unsignalled = [s for s in target.spec.services if target.signal_for(s) is None]
    if unsignalled:
        table.add_row(f"TTD of {', '.join(unsignalled)}", NOT_MEASURED + " (client-side errors only)")
    store = target.spec.store
    table.add_row("RPO, lost writes", store.kind if store else NOT_MEASURED + " (no store declared)")
    entry = target.spec.entry
    table.add_row("accuracy", f"response '{entry.prediction}' vs payload labels" if entry.prediction else NOT_MEASURED)
    return table


def _models(target: Target) -> Table:
    table = Table("model", "registry", "served by", "golden, faulty, rollout events", show_edge=False)
    for name, model in target.spec.models.items():
        extras = [str(model.golden or "no golden"), str(model.faulty or "no faulty library"), model.rollout_events or "-"]
        table.add_row(name, model.registry.describe(), ", ".join(model.served_by), "\n".join(extras))
    return table

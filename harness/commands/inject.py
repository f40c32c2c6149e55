"""`failover inject | faults | audit`: faults by hand on a running stack, what is in effect, who did what."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Annotated, Any, Optional

import typer
from pydantic import ValidationError
from rich.table import Table

from harness.commands.options import ProjectOption, TargetOption, ToxiproxyPort, console
from harness.errors import BadInput
from harness.faults import FaultParams, fault_type, fault_types
from harness.stack import Backend, StackSettings
from harness.targets import resolve_target
from harness.units import format_duration, parse_duration
from harness.yaml_model import did_you_mean

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _type_names(incomplete: str) -> list[str]:
    return [kind.name for kind in fault_types() if kind.name.startswith(incomplete)]


def _target_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion: what the chosen target (default: the reference stack) lets this type hit."""
    try:
        target = resolve_target(ctx.params.get("target_file"), StackSettings())
        kind = fault_type(ctx.params.get("fault") or "kill").acts_on
    except Exception:  # noqa: BLE001  (completion never fails loudly)
        return []
    names = {
        "service": target.services(),
        "hop": target.hops(),
        "zone": set(target.zones()),
        "model": set(target.model_names()),
        "entry": {"entry"},
    }
    return sorted(name for name in names[kind] if name.startswith(incomplete))


def inject_command(
    ctx: typer.Context,
    fault: Annotated[str, typer.Argument(help="A fault type (failover fault-types).", autocompletion=_type_names)],
    target: Annotated[str, typer.Argument(help="What it hits: a service, hop, model or 'entry'.", autocompletion=_target_names)],
    for_: Annotated[Optional[str], typer.Option("--for", help="Revert after this long (e.g. 30s); Ctrl-C reverts too. Default: until `failover heal ID`.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")] = False,
    target_file: TargetOption = None,
    backend: Annotated[Optional[Backend], typer.Option("--backend", "-b", help="The stack's backend (default: the target's).")] = None,
    project: ProjectOption = "failover",
    toxiproxy_port: ToxiproxyPort = 8474,
    allow_remote_docker: Annotated[bool, typer.Option(help="Allow a DOCKER_HOST on another machine.")] = False,
) -> None:
    """Inject one fault on a running stack: `failover inject latency gateway->model-a --latency 800ms --for 30s`.
    The type's parameters are options (`failover fault-types` lists them)."""
    if allow_remote_docker:
        from harness.stack.images import (
            REMOTE_DOCKER_OPT_IN,  # loads the Docker SDK: only when asked
        )

        os.environ[REMOTE_DOCKER_OPT_IN] = "1"
    spec = _spec(fault, target, ctx.args)
    settings = StackSettings(project=project, toxiproxy_port=toxiproxy_port)
    chosen = resolve_target(target_file, settings)
    for_s = _duration("--for", for_) if for_ is not None else None
    from harness.adhoc import check_target, inject, journals_dir

    check_target(spec, chosen)
    until = f"for {format_duration(for_s)}" if for_s is not None else "until `failover heal ID`"
    if dry_run:
        console.print(f"would inject {_shown(spec)} on target {chosen.name} ({project}), {until}", highlight=False)
        return
    stack = chosen.open_stack(backend, journals_dir())
    console.print(f"injecting {_shown(spec)} on {chosen.name}, {until}", highlight=False)
    fault_id = inject(spec, chosen, stack, for_s, _countdown)
    if for_s is None:
        console.print(f"in effect: [bold]{fault_id}[/] (failover faults lists it; failover heal {fault_id} reverts it)")
    else:
        console.print(f"reverted {fault_id}")


def _spec(fault: str, target: str, extra: list[str]) -> FaultParams:
    names = [kind.name for kind in fault_types()]
    if fault not in names:
        raise BadInput(f"unknown fault type '{fault}'", f"{did_you_mean(fault, names)}types: {', '.join(names)}")
    data: dict[str, Any] = {"at": 0, "action": fault, "target": target, **_parameters(fault, extra)}
    try:
        return fault_type(fault).params.model_validate(data)
    except ValidationError as error:
        problems = [f"--{str(e['loc'][-1]).replace('_', '-')}: {e['msg']}" for e in error.errors()]
        known = [f"--{name.replace('_', '-')}" for name in fault_type(fault).params.model_fields if name not in _FIXED]
        raise BadInput("; ".join(problems), f"{fault} takes: {', '.join(known) or 'no parameters'}") from None


_FIXED = ("at", "action", "target", "duration")


def _parameters(fault: str, extra: list[str]) -> dict[str, Any]:
    """['--latency', '800ms', '--kinds', 'nan,empty'] -> {'latency': '800ms', 'kinds': ['nan', 'empty']}."""
    if len(extra) % 2:
        raise BadInput(f"parameters come in pairs (--name value): {' '.join(extra)}", "e.g. --latency 800ms")
    fields = fault_type(fault).params.model_fields
    parameters: dict[str, Any] = {}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        name = flag.removeprefix("--").replace("-", "_")
        if not flag.startswith("--") or name in _FIXED or name not in fields:
            known = [f"--{n.replace('_', '-')}" for n in fields if n not in _FIXED]
            hint = did_you_mean(flag, known)
            raise BadInput(f"{fault} has no parameter '{flag}'", f"{hint}{fault} takes: {', '.join(known) or 'nothing'}")
        is_list = "list" in str(fields[name].annotation)
        parameters[name] = value.split(",") if is_list else value
    return parameters


def _duration(flag: str, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise BadInput(f"{flag}: {error}", "durations look like 250ms, 30s or 2m") from None


def _shown(spec: FaultParams) -> str:
    given = spec.shown_parameters()
    return f"{spec.action} {spec.target}" + (f" ({given})" if given else "")


def _countdown(seconds: float) -> None:
    """Wait, showing the time left; an interrupt ends the wait (and the caller reverts)."""
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    with Progress("in effect", BarColumn(), TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("", total=seconds)
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            progress.update(task, completed=elapsed)
            time.sleep(min(0.2, seconds - elapsed))


def faults_command() -> None:
    """Every fault in effect on this machine: from runs and from `failover inject`, with who and until when."""
    from harness.adhoc import active_faults

    active = active_faults()
    if not active:
        console.print("no fault in effect")
        return
    table = Table("id", "fault", "since", "until", "by", "from", show_edge=False)
    for fault in active:
        owner = "" if fault.live else " [yellow](owner gone)[/]"
        until = _clock(fault.until) if fault.until else ("until healed" if fault.source == "inject" else "end of run")
        table.add_row(fault.id, fault.describe, _clock(fault.since), until, fault.by, fault.source + owner)
    console.print(table)


def _clock(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S") if epoch else "-"


def audit_command(
    since: Annotated[Optional[str], typer.Option(help="Only this recent, e.g. 1h or 30m (default: everything).")] = None,
) -> None:
    """Every fault injected or reverted on this machine, by runs, by hand and by heal."""
    from harness import audit

    start = time.time() - _duration("--since", since) if since else 0.0
    table = Table("time", "action", "fault", "by", "source", "outcome", show_edge=False)
    for entry in audit.entries(start):
        parameters = ", ".join(f"{k} {v}" for k, v in entry.get("parameters", {}).items())
        what = f"{entry.get('type')} {entry.get('target')}" + (f" ({parameters})" if parameters else "")
        when = datetime.fromtimestamp(entry["t"]).strftime("%Y-%m-%d %H:%M:%S")
        outcome = entry.get("outcome", "?")
        shown = "[green]ok[/]" if outcome == "ok" else f"[red]{outcome}[/]"
        table.add_row(when, entry.get("action", "?"), what, entry.get("by", "?"), entry.get("source", "?"), shown)
    console.print(table)


def register_inject_commands(app: typer.Typer) -> None:
    app.command("inject", context_settings=_EXTRA)(inject_command)
    app.command("faults")(faults_command)
    app.command("audit")(audit_command)

"""Faults by hand: `failover inject` puts one fault on a running stack.

An injected fault is journaled and registered exactly like a run's (its own
journal under the state directory, with the stack and target facts `heal`
needs), so `failover faults` lists it beside the faults of running scenarios,
`failover heal ID` reverts it, and `failover heal` finds it after any crash.
With `--for` the command waits and reverts (Ctrl-C reverts too); without it
the fault stays until healed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import audit
from harness.errors import BadInput, FaultFailed, describe_exception
from harness.faults import Fault, FaultParams, build_fault, fault_type
from harness.faults.base import ActsOn
from harness.heal import revert_open_fault
from harness.journal import (
    Journal,
    OpenFault,
    Registration,
    open_faults,
    read_entries,
    registrations,
)
from harness.run_facts import run_facts
from harness.scenario_loader import fault_target_problem
from harness.stack import Stack
from harness.stack.state import private_dir, state_root
from harness.targets import Target

INJECT = "inject"
"""The `source` of a fault injected by hand (a run's is its scenario's name)."""


def journals_dir() -> Path:
    return private_dir(state_root() / "injected")


@dataclass(frozen=True)
class ActiveFault:
    """A fault in effect (journaled, not reverted), from a run or from `inject`."""

    id: str
    """'<run id>.<fault index>': what `failover heal ID` takes."""
    describe: str
    type: str
    target: str
    since: float | None
    until: float | None
    """When it is reverted: an `inject --for` expiry; None: until healed (or its run ends)."""
    by: str
    source: str
    live: bool
    """Whether the process that owns it still runs (a dead owner's fault stays until healed)."""
    open_fault: OpenFault


def check_target(spec: FaultParams, target: Target) -> None:
    """Guard rail: only what the target opted in (services, hops, models) may be hit."""
    given: dict[ActsOn, set[str] | None] = {
        "service": target.services(),
        "hop": target.hops(),
        "model": set(target.model_names()),
        "zone": set(target.zones()),
    }
    problem = fault_target_problem(spec, given)
    if problem is not None:
        message, tip = problem
        raise BadInput(f"target {target.name}: {message}", tip)


def inject(spec: FaultParams, target: Target, stack: Stack, for_s: float | None, wait: Callable[[float], None]) -> str:
    """Inject `spec` on `stack` and journal it; with `for_s`, wait that long (through `wait`, which an
    interrupt may cut short) and revert. Returns the fault's id."""
    check_target(spec, target)
    able = fault_type(spec.action).backends
    if stack.backend not in able:
        raise BadInput(f"{spec.action} needs the {' or '.join(sorted(able))} backend", "run it on a stack there")
    if not any(status.state == "running" for status in stack.status()):
        raise BadInput(f"stack '{stack.settings.project}' ({stack.backend}) is not up", "failover stack up, then inject")
    fault = build_fault(spec, target.fault_context(stack))
    journal = Journal(journals_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{spec.action}.jsonl")
    until = time.time() + for_s if for_s is not None else None
    facts = run_facts(stack, target)
    journal.write("run-start", scenario=INJECT, by=audit.operator(), until=until, **facts)
    fault_id = f"{journal.run_id}.0"
    journal.write("fault-intent", fault=0, spec=spec.model_dump(mode="json"), describe=fault.describe())
    reverted = False
    try:
        _act(fault, "inject", spec, journal)
        journal.write("fault-injected", fault=0, at=time.time())
        if for_s is not None:
            try:
                wait(for_s)
            finally:
                reverted = _revert(fault, spec, journal)
    except BaseException:
        reverted = reverted or _revert(fault, spec, journal)
        raise
    finally:
        journal.close(everything_reverted=reverted)
    return fault_id


def _act(fault: Fault, verb: audit.Action, spec: FaultParams, journal: Journal) -> None:
    try:
        getattr(fault, verb)()
    except Exception as error:
        audit.record(verb, spec.model_dump(mode="json"), journal.run_id, describe_exception(error))
        raise FaultFailed(verb, fault.describe(), error) from error
    audit.record(verb, spec.model_dump(mode="json"), journal.run_id)


def _revert(fault: Fault, spec: FaultParams, journal: Journal) -> bool:
    _act(fault, "revert", spec, journal)
    journal.write("fault-reverted", fault=0, at=time.time())
    return True


def active_faults() -> list[ActiveFault]:
    """Every fault in effect on this machine that a harness process journaled, oldest first."""
    found = [fault for registration in registrations() for fault in _faults_of(registration)]
    return sorted(found, key=lambda fault: fault.since or 0.0)


def _faults_of(registration: Registration) -> list[ActiveFault]:
    if not registration.journal.exists():
        return []
    injected = _injected_at(registration.journal)
    live = registration.owner is not None and registration.owner.alive()
    return [_active(open_fault, injected, live) for open_fault in open_faults(registration.journal)]


def _active(open_fault: OpenFault, injected: dict[int, float], live: bool) -> ActiveFault:
    run, intent = open_fault.run, open_fault.intent
    spec: dict[str, Any] = intent.get("spec", {})
    index = int(intent["fault"])
    source = run.get("scenario", "?")
    return ActiveFault(
        id=f"{run.get('run_id', '?')}.{index}",
        describe=intent.get("describe", "?"),
        type=str(spec.get("action", "?")),
        target=str(spec.get("target", "?")),
        since=injected.get(index),
        until=run.get("until") if source == INJECT else None,
        by=run.get("by", "?"),
        source=source,
        live=live,
        open_fault=open_fault,
    )


def _injected_at(journal: Path) -> dict[int, float]:
    return {
        int(entry["fault"]): float(entry["at"])
        for entry in read_entries(journal)
        if entry.get("event") == "fault-injected"
    }


def heal_fault(fault_id: str) -> str:
    """Revert the one fault `fault_id` (from `failover faults`); its run's other faults are left alone."""
    faults = active_faults()
    chosen = next((fault for fault in faults if fault.id == fault_id), None)
    if chosen is None:
        known = ", ".join(fault.id for fault in faults) or "none is in effect"
        raise BadInput(f"no fault '{fault_id}' in effect", f"ids from `failover faults`: {known}")
    line = revert_open_fault(chosen.open_fault)
    _unregister_when_clean(chosen.open_fault.journal)
    return line


def _unregister_when_clean(journal: Path) -> None:
    """A journal with nothing left in effect whose owner is gone needs no registration any more."""
    for registration in registrations():
        owner_gone = registration.owner is None or not registration.owner.alive()
        if registration.journal == journal and owner_gone and not open_faults(journal):
            registration.unregister()

"""`failover heal`: revert what a harness that died mid-run left behind.

Two sources. The run journals: every fault whose intent was journaled without a
revert. And, with no journal at all, the stacks themselves (`sweep`): toxics
named with the `failover-` prefix, disabled proxies, paused or stopped services
of a project that is up (found by the backend: compose labels, or the local
supervisor). A run whose harness is still alive is left alone unless forced;
one that cannot be healed (its stack is gone, its journal deleted) can be
forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import audit
from harness.errors import describe_exception
from harness.faults import FaultContext, build_fault, parse_fault
from harness.faults.hop.toxic import TOXIC_PREFIX, toxiproxy_api
from harness.journal import (
    OpenFault,
    Registration,
    append_entry,
    open_faults,
    read_entries,
    registrations,
)
from harness.models.access import ModelAccess
from harness.models.file_registry import FileRegistry
from harness.models.heal import heal_registry
from harness.run_facts import settings_from_run
from harness.stack import Stack, open_stack

Lines = tuple[list[str], list[str]]
"""(done, failed): one line each for people."""


def revert_open_fault(open_fault: OpenFault) -> str:
    run = open_fault.run
    stack = open_stack(run["backend"], settings_from_run(run))
    toxiproxy_url = run.get("toxiproxy_url") or stack.endpoints().toxiproxy_url
    models = {name: ModelAccess.from_json(fields) for name, fields in run.get("models", {}).items()}
    zones = {zone: tuple(services) for zone, services in run.get("zones", {}).items()}
    context = FaultContext(stack, toxiproxy_url, run.get("proxies", {}), models=models, zones=zones)
    fault = build_fault(parse_fault(open_fault.intent["spec"]), context)
    try:
        fault.revert()
    except Exception as error:
        audit.record("revert", open_fault.intent["spec"], "heal", describe_exception(error))
        raise
    audit.record("revert", open_fault.intent["spec"], "heal")
    append_entry(open_fault.journal, "fault-reverted", fault=open_fault.intent["fault"], by="heal")
    return f"reverted {fault.describe()} (run {run.get('run_id', '?')}, {run.get('scenario', '?')})"


def heal(force: bool = False, forget: bool = False, sweep: Sequence[Stack] = ()) -> Lines:
    """Revert every open fault of every registered journal, then sweep `sweep` for leftovers.

    `force`: also runs whose harness is still alive. `forget`: drop runs that cannot be healed.
    """
    done: list[str] = []
    failed: list[str] = []
    live: set[tuple[str, str]] = set()
    for registration in registrations():
        run_done, run_failed = _heal_run(registration, force, forget, live)
        done += run_done
        failed += run_failed
    for stack in sweep:
        if (stack.backend, stack.settings.project) in live:
            failed.append(f"{_name(stack)} is in use by a live run: not swept (`failover heal --force` sweeps it)")
            continue
        try:
            done += sweep_stack(stack)
        except Exception as error:  # noqa: BLE001  (heal reports every failure and goes on; never a traceback)
            failed.append(f"{_name(stack)}: {describe_exception(error)}")
    return done, failed


def _heal_run(registration: Registration, force: bool, forget: bool, live: set[tuple[str, str]]) -> Lines:
    """Heal one registered run; a live one is added to `live` (unless forced) and left alone."""
    journal = registration.journal
    if not journal.exists():
        if forget:
            registration.unregister()
            return [f"forgot the run of {journal}: its journal is gone"], []
        return [], [f"the journal {journal} is gone, so its run's faults are unknown (`--forget` drops it)"]
    run = _run_start(journal)
    name = f"run {run.get('run_id', '?')} ({run.get('scenario', '?')})"
    owner = registration.owner
    if owner is not None and owner.alive() and not force:
        live.add((run.get("backend", ""), run.get("project", "")))
        return [], [f"{name} is still going (pid {owner.pid}): left alone (`--force` reverts its faults)"]
    done, failed = _revert_all(journal)
    if failed and forget:
        append_entry(journal, "run-forgotten", by="heal", problems=failed)
        registration.unregister()
        return [*done, f"forgot {name}: {'; '.join(failed)}"], []
    if failed:
        failed.append(f"{name}: {_stack_gone_tip(run)}")
    elif owner is None or not owner.alive():
        registration.unregister()
    return done, failed


def _revert_all(journal: Path) -> Lines:
    done: list[str] = []
    failed: list[str] = []
    for open_fault in open_faults(journal):
        try:
            done.append(revert_open_fault(open_fault))
        except Exception as error:  # noqa: BLE001  (a requests or Docker error of one fault must not stop the rest)
            failed.append(f"{open_fault.intent.get('describe', '?')}: {describe_exception(error)}")
    return done, failed


def _stack_gone_tip(run: dict[str, Any]) -> str:
    try:
        stack = open_stack(run["backend"], settings_from_run(run))
        gone = all(status.state == "missing" for status in stack.status())
    except Exception:  # noqa: BLE001  (only a hint: unknown when the backend does not answer)
        return "retry once its stack answers, or `--forget` it"
    if gone:
        return "its stack is down, so none of its faults is left in effect: `failover heal --forget` drops it"
    return "retry once its stack answers, or `--forget` it"


def _run_start(journal: Path) -> dict[str, Any]:
    return next((entry for entry in read_entries(journal) if entry.get("event") == "run-start"), {})


def sweep_stack(stack: Stack) -> list[str]:
    """Leftovers found without a journal, on a stack that is up: paused or stopped services,
    toxics named `failover-...` and disabled proxies on its Toxiproxy, model faults its registry
    still records."""
    statuses = stack.status()
    if not any(status.state == "running" for status in statuses):
        return []  # down: nothing of it is left in effect
    registry = stack.settings.registry_dir
    done = heal_registry(FileRegistry(registry)) if registry.exists() else []
    for status in statuses:
        if status.state == "paused":
            stack.unpause(status.name)
            done.append(f"unpaused {status.name} ({_name(stack)})")
        elif status.state in ("stopped", "exited"):
            stack.start(status.name)
            done.append(f"started {status.name} ({_name(stack)})")
    for proxy in toxiproxy_api(stack.endpoints().toxiproxy_url).proxies().values():
        for toxic in proxy.toxics():
            if toxic.startswith(TOXIC_PREFIX):
                proxy.destroy_toxic(toxic)
                done.append(f"removed toxic {toxic} from {proxy.name} ({_name(stack)})")
        if not proxy.enabled:
            proxy.enable()
            done.append(f"enabled proxy {proxy.name} ({_name(stack)})")
    return done


def _name(stack: Stack) -> str:
    return f"stack '{stack.settings.project}' ({stack.backend})"

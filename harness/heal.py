"""`failover heal`: revert what a harness that died mid-run left behind, from its journals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.faults import FaultContext, build_fault
from harness.journal import OpenFault, append_entry, open_faults, registered_journals
from harness.scenario import Fault as FaultSpec
from harness.stack import StackSettings, open_stack


def settings_from_run(run: dict[str, Any]) -> StackSettings:
    """The stack a journaled run used, as recorded in its `run-start` entry."""
    return StackSettings(
        project=run["project"],
        compose_file=Path(run["compose_file"]),
        fixtures_dir=Path(run["fixtures_dir"]),
        gateway_port=run["gateway_port"],
        stats_port=run["stats_port"],
        toxiproxy_port=run["toxiproxy_port"],
    )


def revert_open_fault(open_fault: OpenFault) -> str:
    run = open_fault.run
    stack = open_stack(run["backend"], settings_from_run(run))
    context = FaultContext(stack, stack.endpoints().toxiproxy_url)
    fault = build_fault(FaultSpec.model_validate(open_fault.intent["spec"]), context)
    fault.revert()
    append_entry(open_fault.journal, "fault-reverted", fault=open_fault.intent["fault"], by="heal")
    return f"reverted {fault.describe()} (run {run.get('run_id', '?')}, {run.get('scenario', '?')})"


def heal() -> tuple[list[str], list[str]]:
    """Revert every open fault of every registered journal; returns (done, failed) lines."""
    done: list[str] = []
    failed: list[str] = []
    for registration, journal in registered_journals():
        if not journal.exists():
            registration.unlink()
            continue
        remaining = 0
        for open_fault in open_faults(journal):
            try:
                done.append(revert_open_fault(open_fault))
            except HarnessError as error:
                remaining += 1
                failed.append(f"{open_fault.intent.get('describe', '?')}: {error.message}")
        if remaining == 0:
            registration.unlink()
    return done, failed

"""`failover fault-types`: every fault type a scenario can put on its timeline, with its parameters."""

from __future__ import annotations

from rich.table import Table

from harness.commands.options import console
from harness.faults import FaultParams, fault_types
from harness.faults.base import FaultType


def fault_types_command() -> None:
    """Every fault type: what it acts on, its parameters and what it does."""
    table = Table("action", "target", "parameters", "what it does", show_edge=False)
    for kind in fault_types():
        table.add_row(kind.name, kind.acts_on, _parameters(kind), kind.summary)
    console.print(table)
    console.print("Every entry also takes at (required), target (required) and duration (default: until the load ends).")


def _parameters(kind: FaultType) -> str:
    common = set(FaultParams.model_fields)
    shown = []
    for name, field in kind.params.model_fields.items():
        if name in common:
            continue
        default = "required" if field.is_required() else f"default {field.default}"
        note = f": {field.description}" if field.description else ""
        shown.append(f"{name} ({default}){note}")
    return "\n".join(shown) or "-"

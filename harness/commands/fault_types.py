"""`failover fault-types`: every fault type a scenario can put on its timeline, with its parameters."""

from __future__ import annotations

from pydantic import BaseModel
from rich.table import Table

from harness.commands.options import console
from harness.faults import FaultParams, fault_types


def fault_types_command() -> None:
    """Every fault type: what it acts on, its parameters and what it does."""
    table = Table("action", "target", "parameters", "what it does", show_edge=False)
    shared: dict[type[BaseModel], list[str]] = {}
    for kind in fault_types():
        table.add_row(kind.name, kind.acts_on, "\n".join(_fields(kind.params)) or "-", kind.summary)
        for base in _shared_bases(kind.params):
            shared.setdefault(base, _fields(base))
    console.print(table)
    console.print("Every fault takes at (required), target (required) and duration (default: until the load ends).")
    for base, fields in shared.items():
        users = ", ".join(kind.name for kind in fault_types() if issubclass(kind.params, base))
        console.print(f"{users} also take: {'; '.join(fields)}")


def _shared_bases(params: type[FaultParams]) -> list[type[BaseModel]]:
    """Parameter models between `FaultParams` and the type's own (e.g. every toxic's stream and toxicity)."""
    return [base for base in params.__mro__[1:] if issubclass(base, FaultParams) and base is not FaultParams]


def _fields(model: type[BaseModel]) -> list[str]:
    """The fields `model` declares itself (not inherited), as 'name (default): what'."""
    shown = []
    for name in model.__annotations__:
        field = model.model_fields.get(name)
        if field is None or name == "action":
            continue
        default = "required" if field.is_required() else f"default {field.default}"
        shown.append(f"{name} ({default})" + (f": {field.description.rstrip('.')}" if field.description else ""))
    return shown

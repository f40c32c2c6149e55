"""`heal_registry`: undo every model fault a registry still carries, from what it recorded itself.

The hook for `failover heal`: call it for each model registry of a run's
target (from its journal), or of a stack that is swept without one. It needs
no memory of the faults: an outage is its aside folder (`outage.py`), every
other fault its undo record (`undo.py`).
"""

from __future__ import annotations

from harness.models import outage, undo
from harness.models.file_registry import FileRegistry


def heal_registry(registry: FileRegistry) -> list[str]:
    """One line per fault undone; [] when the registry carries none (or does not exist)."""
    done = []
    if outage.bring_back(registry):
        done.append(f"brought the model registry {registry.root} back up")
    for alias in undo.open_aliases(registry):
        what = undo.undo(registry, alias)
        if what is not None:
            done.append(f"{what} in the model registry {registry.root}")
    return done

"""The seeded monkey: faults picked at random from an allowed set, at a mean interval, reproducibly.

`schedule` turns a `Monkey` (a seed, how long, how often, which fault types
on which targets) into an ordinary timeline: the same seed gives the same
timeline, every time and on every machine (Python's `random.Random` is
deterministic per seed). The timeline then runs, is validated against the
target and is journaled like any scenario's.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import ConfigDict, Field

from harness.faults import FaultParams, fault_type
from harness.units import Duration, Strict


class Monkey(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True)

    seed: int
    """The same seed gives the same schedule."""
    for_: Duration = Field(alias="for", gt=0)
    """Faults start during this long (after the steady-state check)."""
    mean_interval: Duration = Field(10.0, gt=0)
    """Mean time between two injections (exponentially distributed, like independent failures)."""
    fault_duration: Duration = Field(5.0, gt=0)
    """How long each fault lasts."""
    faults: dict[str, list[str]] = Field(min_length=1, examples=[{"kill": ["model-a", "model-b"]}])
    """Fault type -> the targets it may pick (the target file must opt them in)."""


def schedule(monkey: Monkey) -> list[dict[str, Any]]:
    """The timeline entries (as a scenario file would have them), in time order; a target is never hit by
    two faults at once (a pick whose target is still busy is skipped)."""
    rng = random.Random(monkey.seed)
    busy_until: dict[str, float] = {}
    entries = []
    at = rng.expovariate(1 / monkey.mean_interval)
    types = sorted(monkey.faults)
    while at < monkey.for_:
        action = rng.choice(types)
        target = rng.choice(sorted(monkey.faults[action]))
        if busy_until.get(target, -1.0) <= at:
            entries.append(_entry(action, target, round(at, 3), monkey.fault_duration))
            busy_until[target] = at + monkey.fault_duration
        at += rng.expovariate(1 / monkey.mean_interval)
    return entries


def _entry(action: str, target: str, at: float, duration: float) -> dict[str, Any]:
    """A fault with every required parameter at the value its type documents as the example."""
    params: type[FaultParams] = fault_type(action).params
    common = set(FaultParams.model_fields)
    required = {
        name: field.examples[0]
        for name, field in params.model_fields.items()
        if name not in common and field.is_required() and field.examples
    }
    return {"at": at, "action": action, "target": target, "duration": duration, **required}

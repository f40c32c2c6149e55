"""The runbook on the timeline: its steps merged with the faults' events on one clock."""

from __future__ import annotations

from collections.abc import Callable

Event = tuple[float, Callable[[], None]]


def merge_events(runbook: list[Event], faults: list[Event]) -> list[Event]:
    """Every event by time; at the same time a runbook step comes first (a gate holds the faults due with it)."""
    tagged = [(at, 0, action) for at, action in runbook] + [(at, 1, action) for at, action in faults]
    return [(at, action) for at, _, action in sorted(tagged, key=lambda event: (event[0], event[1]))]

"""Executes a scenario's faults on their timeline, journaled, and always reverted.

Each fault's intent is journaled before `inject`, its window opens when
`inject` returns, and it is reverted after `duration` (or at the end).
`revert_all` is safe to call at any time, from a `finally`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.errors import HarnessError
from harness.faults import Fault, FaultContext, build_fault
from harness.journal import Journal
from harness.result import FaultWindow
from harness.scenario import Fault as FaultSpec


@dataclass
class ScheduledFault:
    index: int
    spec: FaultSpec
    fault: Fault
    intended: bool = False
    """The intent is journaled: from here on the fault may be in effect."""
    injected_at: float | None = None
    reverted_at: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.injected_at is not None and self.reverted_at is None

    def window(self) -> FaultWindow:
        parameters = {"latency": self.spec.latency, "jitter": self.spec.jitter, "timeout": self.spec.timeout}
        return FaultWindow(
            index=self.index,
            type=self.spec.action,
            target=self.spec.target,
            parameters={key: value for key, value in parameters.items() if value is not None},
            injected_at=self.injected_at or 0.0,
            reverted_at=self.reverted_at,
        )


class Timeline:
    def __init__(self, specs: list[FaultSpec], context: FaultContext, journal: Journal) -> None:
        self.faults = [ScheduledFault(i, spec, build_fault(spec, context)) for i, spec in enumerate(specs)]
        self.journal = journal

    def events(self, end_s: float) -> list[tuple[float, Callable[[], None]]]:
        """(seconds after the timeline starts, action), sorted; unbounded faults revert at `end_s`."""
        events: list[tuple[float, Callable[[], None]]] = []
        for scheduled in self.faults:
            duration = scheduled.spec.duration
            revert_at = scheduled.spec.at + duration if duration is not None else end_s
            events.append((scheduled.spec.at, lambda s=scheduled: self.inject(s)))
            events.append((revert_at, lambda s=scheduled: self.revert(s)))
        return sorted(events, key=lambda event: event[0])

    def inject(self, scheduled: ScheduledFault) -> None:
        self.journal.write(
            "fault-intent",
            fault=scheduled.index,
            spec=scheduled.spec.model_dump(mode="json", by_alias=True),
            describe=scheduled.fault.describe(),
        )
        scheduled.intended = True
        scheduled.fault.inject()
        scheduled.injected_at = time.time()
        self.journal.write("fault-injected", fault=scheduled.index, at=scheduled.injected_at)

    def revert(self, scheduled: ScheduledFault) -> None:
        if scheduled.reverted_at is not None:
            return
        scheduled.fault.revert()
        scheduled.reverted_at = time.time()
        self.journal.write("fault-reverted", fault=scheduled.index, at=scheduled.reverted_at)

    def revert_all(self) -> bool:
        """Revert every fault that may be in effect (an intent without a revert); True if all went well."""
        clean = True
        for scheduled in self.faults:
            if not scheduled.intended or scheduled.reverted_at is not None:
                continue
            try:
                scheduled.fault.revert()
                scheduled.reverted_at = scheduled.reverted_at or time.time()
                self.journal.write("fault-reverted", fault=scheduled.index, at=scheduled.reverted_at)
            except HarnessError as error:
                clean = False
                scheduled.errors.append(error.message)
                self.journal.write("fault-revert-failed", fault=scheduled.index, error=error.message)
        return clean

    def windows(self) -> list[FaultWindow]:
        return [scheduled.window() for scheduled in self.faults if scheduled.injected_at is not None]

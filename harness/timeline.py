"""Executes a scenario's faults on their timeline, journaled, and always reverted.

Each fault's intent is journaled before `inject`; its window opens when the
inject action starts (the call's own duration is kept beside it, journaled
too), and it is reverted after `duration`, or, without one, when the load
ends. Any exception from a fault becomes a `FaultFailed`; `revert_all` is safe
to call at any time, from a `finally`, and tries every fault whatever the
others raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from harness import audit
from harness.errors import FaultFailed, describe_exception
from harness.faults import Fault, FaultContext, FaultParams, build_fault
from harness.faults.base import SelfJudging
from harness.journal import Journal
from harness.result import FaultWindow, SLOResult
from harness.scenario import Scenario


@dataclass
class ScheduledFault:
    index: int
    spec: FaultParams
    fault: Fault
    intended: bool = False
    """The intent is journaled: from here on the fault may be in effect."""
    injected_at: float | None = None
    """When the inject action started."""
    inject_call_s: float | None = None
    reverted_at: float | None = None
    """When the revert call returned."""
    revert_call_s: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.injected_at is not None and self.reverted_at is None

    def window(self) -> FaultWindow:
        return FaultWindow(
            index=self.index,
            type=self.spec.action,
            target=self.spec.target,
            parameters={key: value for key, value in self.spec.parameters().items() if value is not None},
            injected_at=self.injected_at or 0.0,
            reverted_at=self.reverted_at,
            inject_call_s=self.inject_call_s,
            revert_call_s=self.revert_call_s,
        )


class Timeline:
    def __init__(self, scenario: Scenario, context: FaultContext, journal: Journal) -> None:
        self.faults = [ScheduledFault(i, spec, build_fault(spec, context)) for i, spec in enumerate(scenario.timeline)]
        self.journal = journal
        self._observe_after = scenario.observe_after
        self._load_duration = scenario.load.duration or 0.0

    def load_end_s(self, end_s: float) -> float:
        """When the load stops, given `end_s` = `Scenario.end_of_faults()`: `observe_after` later,
        or at `load.duration` if that is later."""
        return max(end_s + self._observe_after, self._load_duration)

    def events(self, end_s: float) -> list[tuple[float, Callable[[], None]]]:
        """(seconds after the timeline starts, action), sorted, for `end_s` = `Scenario.end_of_faults()`.

        A fault without `duration` lasts to the end of the observation: it is reverted when the load ends.
        """
        events: list[tuple[float, Callable[[], None]]] = []
        for scheduled in self.faults:
            duration = scheduled.spec.duration
            revert_at = scheduled.spec.at + duration if duration is not None else self.load_end_s(end_s)
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
        started = time.time()
        try:
            scheduled.fault.inject()
        except Exception as error:  # noqa: BLE001  (any failure, even a bug, must end in a clean revert and 'error')
            self._audit(scheduled, "inject", describe_exception(error))
            self._failed(scheduled, "inject", error)
        self._audit(scheduled, "inject")
        scheduled.injected_at, scheduled.inject_call_s = started, time.time() - started
        self.journal.write("fault-injected", fault=scheduled.index, at=started, call_s=scheduled.inject_call_s)

    def revert(self, scheduled: ScheduledFault) -> None:
        if scheduled.reverted_at is not None:
            return
        started = time.time()
        try:
            scheduled.fault.revert()
        except Exception as error:  # noqa: BLE001  (as for inject: the other faults are still reverted)
            self._audit(scheduled, "revert", describe_exception(error))
            self._failed(scheduled, "revert", error)
        scheduled.reverted_at = time.time()
        scheduled.revert_call_s = scheduled.reverted_at - started
        self._audit(scheduled, "revert")
        self.journal.write(
            "fault-reverted", fault=scheduled.index, at=scheduled.reverted_at, call_s=scheduled.revert_call_s
        )
        if isinstance(scheduled.fault, SelfJudging):
            self.journal.write("fault-findings", fault=scheduled.index, findings=scheduled.fault.findings())

    def checks(self, index: int) -> list[SLOResult]:
        """The fault's own verdicts (see `SelfJudging`), after its revert; most faults have none."""
        fault = self.faults[index].fault
        return fault.checks() if isinstance(fault, SelfJudging) else []

    def revert_all(self) -> list[str]:
        """Revert every fault that may be in effect (an intent without a revert), each whatever the
        others raise; returns one line per fault that could not be reverted (empty: all went well)."""
        problems = []
        for scheduled in self.faults:
            if not scheduled.intended or scheduled.reverted_at is not None:
                continue
            try:
                self.revert(scheduled)
            except FaultFailed as error:
                problems.append(error.message)
        return problems

    def windows(self) -> list[FaultWindow]:
        return [scheduled.window() for scheduled in self.faults if scheduled.injected_at is not None]

    def _audit(self, scheduled: ScheduledFault, action: audit.Action, outcome: str = "ok") -> None:
        audit.record(action, scheduled.spec.model_dump(mode="json"), self.journal.run_id, outcome)

    def _failed(self, scheduled: ScheduledFault, verb: str, error: Exception) -> NoReturn:
        """Journal the failure and raise it as a `FaultFailed` naming the fault."""
        message = describe_exception(error)
        scheduled.errors.append(message)
        self.journal.write(f"fault-{verb}-failed", fault=scheduled.index, error=message)
        raise FaultFailed(verb, scheduled.fault.describe(), error) from error

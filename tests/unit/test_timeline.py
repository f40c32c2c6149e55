"""The fault timeline: when faults are reverted, what the injection stamp means, and that one
fault's exception never keeps the others from being reverted."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from harness.errors import FaultFailed
from harness.faults import FaultContext
from harness.journal import Journal
from harness.scenario import Scenario
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from harness.timeline import Timeline


@dataclass
class RecordingFault:
    """A fault that records its calls; `inject_raises`/`revert_raises` make it fail like a broken API."""

    name: str
    calls: list[str]
    inject_raises: Exception | None = None
    revert_raises: Exception | None = None
    seen_during_inject: list[float] = field(default_factory=list)

    def inject(self) -> None:
        self.seen_during_inject.append(time.time())
        self.calls.append(f"inject {self.name}")
        if self.inject_raises:
            raise self.inject_raises

    def revert(self) -> None:
        self.calls.append(f"revert {self.name}")
        if self.revert_raises:
            raise self.revert_raises

    def describe(self) -> str:
        return f"fault {self.name}"


def _scenario(*faults: str, observe_after: str = "10s", load_duration: str | None = None) -> Scenario:
    load = {"users": 0} | ({"duration": load_duration} if load_duration else {})
    timeline = [dict(item.split("=") for item in fault.split()) for fault in faults]
    return Scenario.model_validate({"name": "t", "load": load, "timeline": timeline, "observe_after": observe_after})


def _timeline(scenario: Scenario, tmp_path: Path, calls: list[str]) -> tuple[Timeline, list[RecordingFault]]:
    stack = LocalStack(StackSettings(project="unit-timeline"))
    timeline = Timeline(scenario, FaultContext(stack, "http://127.0.0.1:1"), Journal(tmp_path / "journal.jsonl"))
    fakes = [RecordingFault(str(s.index), calls) for s in timeline.faults]
    for scheduled, fake in zip(timeline.faults, fakes):
        scheduled.fault = fake
    return timeline, fakes


def _events(tmp_path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]


def _schedule(timeline: Timeline, scenario: Scenario, calls: list[str]) -> list[tuple[float, str]]:
    """(time, what) of every event, by running each action and seeing which call it made."""
    schedule = []
    for at, action in timeline.events(scenario.end_of_faults()):
        action()
        schedule.append((at, calls[-1]))
    return schedule


@pytest.mark.parametrize(
    ("observe_after", "load_duration", "load_end"), [("10s", None, 15.0), ("10s", "60s", 60.0), ("3s", None, 8.0)]
)
def test_a_fault_without_duration_lasts_until_the_load_ends(
    isolated_state: Path, tmp_path: Path, observe_after: str, load_duration: str | None, load_end: float
) -> None:
    scenario = _scenario(
        "at=2s action=kill target=model-a",
        "at=1s action=pause target=model-b duration=4s",
        observe_after=observe_after,
        load_duration=load_duration,
    )
    calls: list[str] = []
    timeline, _ = _timeline(scenario, tmp_path, calls)
    schedule = _schedule(timeline, scenario, calls)
    assert (load_end, "revert 0") in schedule, schedule
    assert schedule[-1] == (load_end, "revert 0"), "the open-ended fault is the last thing reverted"
    assert (5.0, "revert 1") in schedule, "a timed fault still reverts after its duration"


def test_the_window_opens_when_the_inject_call_starts_and_keeps_its_duration(
    isolated_state: Path, tmp_path: Path
) -> None:
    calls: list[str] = []
    timeline, (fake,) = _timeline(_scenario("at=0s action=stop target=model-a"), tmp_path, calls)
    slow_inject = fake.inject

    def slow() -> None:
        slow_inject()
        time.sleep(0.2)  # a stop with a grace period: the stack reacts before the call returns

    fake.inject = slow  # type: ignore[method-assign]
    before = time.time()
    timeline.inject(timeline.faults[0])
    after = time.time()
    (window,) = timeline.windows()
    assert before <= window.injected_at <= fake.seen_during_inject[0], "stamped when the action started"
    assert window.inject_call_s is not None
    assert fake.seen_during_inject[0] < window.injected_at + window.inject_call_s <= after
    injected = next(e for e in _events(tmp_path) if e["event"] == "fault-injected")
    assert injected["at"] == window.injected_at and injected["call_s"] == window.inject_call_s


def test_the_window_closes_when_the_revert_call_returns_and_keeps_its_duration(
    isolated_state: Path, tmp_path: Path
) -> None:
    """The fault ends somewhere inside the revert call: a reader needs both ends of it."""
    calls: list[str] = []
    timeline, (fake,) = _timeline(_scenario("at=0s action=stop target=model-a"), tmp_path, calls)
    slow_revert = fake.revert

    def slow() -> None:
        time.sleep(0.2)  # e.g. a start that waits for the container: the fault may end early in the call
        slow_revert()

    fake.revert = slow  # type: ignore[method-assign]
    timeline.inject(timeline.faults[0])
    before = time.time()
    timeline.revert(timeline.faults[0])
    after = time.time()
    (window,) = timeline.windows()
    assert window.reverted_at is not None and window.revert_call_s is not None
    assert before <= window.reverted_at - window.revert_call_s
    assert window.revert_call_s >= 0.2 and window.reverted_at <= after
    reverted = next(e for e in _events(tmp_path) if e["event"] == "fault-reverted")
    assert reverted["at"] == window.reverted_at and reverted["call_s"] == window.revert_call_s


def test_any_exception_from_a_fault_is_journaled_and_the_others_are_still_reverted(
    isolated_state: Path, tmp_path: Path
) -> None:
    calls: list[str] = []
    scenario = _scenario(
        "at=0s action=pause target=model-a duration=9s",
        "at=0s action=latency target=gateway->model-b latency=1s duration=9s",
        "at=0s action=stop target=redis-2 duration=9s",
    )
    timeline, (first, second, _) = _timeline(scenario, tmp_path, calls)
    second.inject_raises = requests.ConnectionError("toxiproxy refused")
    first.revert_raises = RuntimeError("a bug in a fault")
    timeline.inject(timeline.faults[0])
    with pytest.raises(FaultFailed, match="could not inject 'fault 1': ConnectionError: toxiproxy refused"):
        timeline.inject(timeline.faults[1])

    problems = timeline.revert_all()

    assert calls == ["inject 0", "inject 1", "revert 0", "revert 1"], "the fault that never started is not reverted"
    assert problems == ["could not revert 'fault 0': RuntimeError: a bug in a fault"]
    events = [(e["event"], e.get("fault")) for e in _events(tmp_path)]
    assert ("fault-inject-failed", 1) in events and ("fault-revert-failed", 0) in events
    assert ("fault-reverted", 1) in events, "a fault whose inject raised may be half in effect: reverted"
    assert [s.fault.describe() for s in timeline.faults if s.reverted_at is None] == ["fault 0", "fault 2"]

"""Runbook scenarios: validation with file:line, and the game day's gates, pause and notes (no stack)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.gameday.runbook import merge_events
from harness.gameday.session import GameDay
from harness.journal import Journal, read_entries
from harness.scenario import RunbookStep
from harness.scenario_loader import ScenarioError, load_scenario

FIXTURES = Path(__file__).parent / "scenarios" / "gameday"


def test_a_runbook_scenario_loads() -> None:
    scenario = load_scenario(FIXTURES / "good-runbook.yaml")
    first, gate = scenario.runbook
    assert scenario.hypothesis.startswith("the gateway routes")
    assert (first.gate, gate.gate, gate.gate_timeout, gate.on_timeout) == (False, True, 120.0, "continue")
    assert gate.expect == ["model-b serves everything"]


def test_bad_runbook_steps_name_file_line_and_fix() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(FIXTURES / "bad-runbook.yaml")
    message = caught.value.message
    path = FIXTURES / "bad-runbook.yaml"
    for line, expected in (
        (6, "runbook[0].step: missing (a runbook step needs an instruction, a gate (wait_for: confirm) or expect)"),
        (9, "runbook[1].timeout: is for gates only"),
        (11, "runbook[2].wait_for: unknown wait_for 'approval'"),
        (14, "runbook[3].timeout: 10ms is less than 1s: a person needs time to read the step and confirm"),
    ):
        assert f"{path}:{line}: {expected}" in message, message


@pytest.fixture
def journal(tmp_path: Path, isolated_state: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def _gate(timeout: float = 600.0, on_timeout: str | None = None) -> RunbookStep:
    return RunbookStep.model_validate({"at": 5, "step": "check the page", "wait_for": "confirm", "timeout": timeout, "on_timeout": on_timeout})


def _reach_all(gameday: GameDay) -> None:
    for _, action in gameday.events():
        action()


def test_a_gate_holds_the_clock_until_confirmed(journal: Journal) -> None:
    gameday = GameDay(journal, [_gate()])
    assert not gameday.holding()
    _reach_all(gameday)
    assert gameday.holding() and gameday.tick() == ""
    assert gameday.snapshot()["gate"]["text"] == "check the page"
    assert gameday.confirm("bob") == "confirmed: check the page"
    assert not gameday.holding() and gameday.snapshot()["gate"] is None
    gameday.drain()
    closed = [entry for entry in read_entries(journal.path) if entry["event"] == "gate-closed"]
    assert [(entry["outcome"], entry["author"]) for entry in closed] == [("confirmed", "bob")]


def test_confirm_gates_lets_an_unattended_run_through(journal: Journal) -> None:
    gameday = GameDay(journal, [_gate()], confirm_gates=True)
    _reach_all(gameday)
    assert not gameday.holding()


def test_a_gate_past_its_timeout_aborts_or_continues(journal: Journal) -> None:
    aborting = GameDay(journal, [_gate(timeout=1.0)])
    _reach_all(aborting)
    assert aborting.gate is not None
    aborting.gate.opened_at -= 1.0  # as if a second had passed
    assert aborting.tick() == "gate not confirmed within 1s: check the page"
    continuing = GameDay(journal, [_gate(timeout=1.0, on_timeout="continue")])
    _reach_all(continuing)
    assert continuing.gate is not None
    continuing.gate.opened_at -= 1.0
    assert continuing.tick() == "" and not continuing.holding()


def test_pause_holds_the_clock_across_a_gate(journal: Journal) -> None:
    gameday = GameDay(journal, [_gate()])
    assert gameday.pause("carol") == "timeline paused"
    _reach_all(gameday)
    gameday.confirm("bob")
    assert gameday.holding(), "still paused after the gate"
    assert gameday.resume("carol") == "timeline resumed" and not gameday.holding()


def test_notes_are_journaled_by_the_main_thread_with_time_and_author(journal: Journal) -> None:
    gameday = GameDay(journal, [])
    note = gameday.note("p95 up", "alice")
    assert not any(entry["event"] == "note" for entry in read_entries(journal.path)), "queued until drained"
    gameday.drain()
    (entry,) = [entry for entry in read_entries(journal.path) if entry["event"] == "note"]
    assert (entry["author"], entry["text"], entry["at"]) == ("alice", "p95 up", note.t)


def test_a_gate_comes_before_the_faults_due_with_it() -> None:
    order: list[str] = []
    events = merge_events([(5.0, lambda: order.append("gate"))], [(0.0, lambda: order.append("a")), (5.0, lambda: order.append("b"))])
    for _, action in events:
        action()
    assert order == ["a", "gate", "b"]


def test_a_step_after_the_load_ends_is_refused() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(FIXTURES / "bad-runbook-late.yaml")
    assert f"{FIXTURES / 'bad-runbook-late.yaml'}:6: runbook: runbook[1].at 30s is after the load ends (15s" in caught.value.message, caught.value.message


def test_the_timeline_clock_stands_still_while_held_even_from_before_it_started(journal: Journal) -> None:
    gameday = GameDay(journal, [])
    gameday.pause("carol")
    time.sleep(0.3)
    clock = gameday.timeline_clock()
    time.sleep(0.3)
    gameday.resume("carol")
    assert 0.0 <= clock() < 0.3, "neither pause counts on the timeline's clock"

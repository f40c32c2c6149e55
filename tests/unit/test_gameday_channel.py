"""The control channel and the run's metrics without a stack: commands need the token, notes and gates
reach the `GameDay`, `/metrics` counts each probe once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from harness.errors import BadInput
from harness.gameday.control import ControlServer, Views, find_run, send
from harness.gameday.metrics import RunMetrics
from harness.gameday.session import GameDay
from harness.journal import Journal
from harness.scenario import RunbookStep


@pytest.fixture
def gameday(tmp_path: Path, isolated_state: Path) -> GameDay:
    gate = RunbookStep.model_validate({"at": 0, "step": "check the page", "wait_for": "confirm"})
    return GameDay(Journal(tmp_path / "run" / "journal.jsonl"), [gate])


@pytest.fixture
def server(gameday: GameDay, tmp_path: Path) -> Iterator[ControlServer]:
    metrics = RunMetrics("unit")
    with ControlServer(gameday, tmp_path / "run", Views(page=lambda token: token, metrics=metrics.exposition)) as running:
        yield running


def test_commands_reach_the_newest_run_with_its_token(server: ControlServer, gameday: GameDay, tmp_path: Path) -> None:
    address = find_run()
    assert address.run_dir == str((tmp_path / "run").resolve()) and find_run(tmp_path / "run") == address
    assert send(address, "note", text="hello", author="alice") == "noted"
    for _, action in gameday.events():
        action()
    assert send(address, "confirm", author="bob") == "confirmed: check the page"
    assert send(address, "confirm", author="bob") == "no gate is waiting"
    assert [(note.author, note.text) for note in gameday.notes] == [("alice", "hello")]


def test_without_the_token_nothing_is_done(server: ControlServer, gameday: GameDay) -> None:
    refused = httpx.post(f"{server.url}/api/note", json={"text": "sneaky", "author": "eve"})
    assert refused.status_code == 403 and gameday.notes == []
    assert httpx.get(f"{server.url}/").status_code == 403
    assert httpx.get(server.dashboard_url()).text == server.token


def test_an_abort_outside_the_observation_is_refused(server: ControlServer, gameday: GameDay) -> None:
    assert send(find_run(), "abort", author="alice").startswith("the run is not observing")
    assert gameday.abort_reason == ""


def test_a_closed_channel_is_no_longer_found(gameday: GameDay, tmp_path: Path) -> None:
    with ControlServer(gameday, tmp_path / "run", Views()):
        pass
    with pytest.raises(BadInput, match="no game-day run is running"):
        find_run()
    assert not (tmp_path / "run" / "control.json").exists()


def test_metrics_count_each_probe_once_and_show_the_faults() -> None:
    metrics = RunMetrics("unit")
    probes = pd.DataFrame({"ok": [True, True, False], "latency_s": [0.01, 0.2, 1.0]})
    metrics.update(probes, ["kill model-a"], "faults: kill model-a")
    metrics.update(probes.iloc[:0], [], "observing")
    text = metrics.exposition().decode()
    assert 'failover_probes_total{outcome="ok"} 2.0' in text and 'failover_probes_total{outcome="error"} 1.0' in text
    assert "failover_probe_latency_seconds_count 2.0" in text
    assert 'failover_fault_active{fault="kill model-a"} 0.0' in text and "failover_active_faults 0.0" in text
    assert 'failover_phase{phase="observing"} 1.0' in text and "faults: kill model-a" not in text.split("failover_phase")[-1]

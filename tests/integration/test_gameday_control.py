"""Game days on the real local stack: a second process reaches a running run (note, abort), and the
runbook's gates hold the timeline (confirmed from another terminal, or timing out into a clean abort)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, local_binaries_available, require
from tests.integration._runs import (
    PROJECT,
    journal_entries,
    journal_events,
    local_stack,
    nothing_injected,
    read_result,
    stderr_of,
    wait_until,
    write_scenario,
)

pytestmark = pytest.mark.integration
LATENCY = "{at: 0s, action: latency, target: 'gateway->model-a', latency: 200ms, duration: 60s}"


def failover(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`failover ARGS` as another terminal would run it."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        env={**os.environ, "FAILOVER_STATE_DIR": str(state), "PYTHONPATH": str(REPO), "USER": "alice"},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def kept_up_run(scenario: Path, reports: Path, state: Path, *options: str) -> subprocess.Popen[bytes]:
    """`failover run --keep-up` in a child process: the stack stays up, to be checked for leftovers."""
    reports.mkdir(parents=True, exist_ok=True)
    command = ["run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports), "--keep-up", *options]
    with open(stderr_of(reports), "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *command],
            env={**os.environ, "FAILOVER_STATE_DIR": str(state), "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=REPO,
        )


def finish(harness: subprocess.Popen[bytes], reports: Path) -> bool:
    """Wait for the run; whether it left nothing injected on the (kept-up) stack, which then goes down."""
    stack = local_stack()
    try:
        harness.wait(timeout=180)
        clean = nothing_injected(stack)
    finally:
        if harness.poll() is None:
            harness.kill()
        stack.down()
    assert "Traceback" not in stderr_of(reports).read_text(), stderr_of(reports).read_text()[-3000:]
    return clean


def test_a_note_and_an_abort_from_another_process_reach_the_run(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = write_scenario(tmp_path, "remote-abort", LATENCY)
    reports = tmp_path / "reports"
    harness = kept_up_run(scenario, reports, isolated_state)
    try:
        wait_until(lambda: "fault-injected" in journal_events(reports), "the latency fault is in", harness)
        assert not nothing_injected(local_stack()), "the toxic is there before the abort"
        noted = failover(isolated_state, "note", "p95 went up as expected")
        assert noted.returncode == 0, noted.stderr
        aborted = failover(isolated_state, "abort")
        assert aborted.returncode == 0, aborted.stderr
    finally:
        clean = finish(harness, reports)
    assert clean, "the abort reverted the latency toxic"
    result = read_result(reports)
    assert result["verdict"] == "aborted" and "aborted by alice" in result["reason"], result["reason"]
    assert [(note["author"], note["text"]) for note in result["notes"]] == [("alice", "p95 went up as expected")]
    entries = journal_entries(reports)
    assert any(entry["event"] == "note" and entry["author"] == "alice" for entry in entries)
    assert entries[-1]["event"] == "run-end" and entries[-1]["reverted_everything"]
    (run_dir,) = reports.glob("*-remote-abort")
    assert "p95 went up as expected" in (run_dir / "report.html").read_text()
    retro = failover(isolated_state, "retro", str(run_dir))
    assert retro.returncode == 0, retro.stderr
    markdown = (run_dir / "retro.md").read_text()
    assert "| alice | p95 went up as expected |" in markdown and "latency | gateway->model-a" in markdown
    assert "The run was aborted: aborted by alice (failover abort)" in markdown
    assert not (isolated_state / "gameday").exists() or not list((isolated_state / "gameday").iterdir())


def test_without_a_running_run_note_says_so(isolated_state: Path) -> None:
    answer = failover(isolated_state, "note", "anyone there?")
    assert answer.returncode == 2 and "no game-day run is running" in answer.stderr, answer.stderr


def _with_runbook(scenario: Path, runbook: str) -> Path:
    scenario.write_text(scenario.read_text() + "runbook:\n" + runbook)
    return scenario


def test_a_gate_holds_the_timeline_until_confirmed_from_another_terminal(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    fault = "{at: 0s, action: latency, target: 'gateway->model-a', latency: 50ms, duration: 2s}"
    scenario = _with_runbook(
        write_scenario(tmp_path, "gated", fault), "  - {at: 0s, step: 'page the on-call', wait_for: confirm, timeout: 2m}\n"
    )
    reports = tmp_path / "reports"
    harness = kept_up_run(scenario, reports, isolated_state)
    try:
        wait_until(lambda: "gate-open" in journal_events(reports), "the timeline reached the gate", harness)
        time.sleep(3.0)  # longer than the whole fault would have lasted
        assert "fault-intent" not in journal_events(reports), "the fault waits behind the gate"
        confirmed = failover(isolated_state, "confirm", "--author", "bob")
        assert confirmed.returncode == 0 and "confirmed: page the on-call" in confirmed.stdout, confirmed
    finally:
        clean = finish(harness, reports)
    assert clean
    entries = journal_entries(reports)
    events = [entry["event"] for entry in entries]
    assert events.index("gate-open") < events.index("gate-closed") < events.index("fault-intent")
    (closed,) = [entry for entry in entries if entry["event"] == "gate-closed"]
    assert (closed["outcome"], closed["author"]) == ("confirmed", "bob") and closed["waited_s"] >= 3.0
    assert read_result(reports)["verdict"] != "aborted"


def test_a_gate_left_unconfirmed_past_its_timeout_aborts_cleanly(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = _with_runbook(write_scenario(tmp_path, "gate-timeout", LATENCY), "  - {at: 1s, wait_for: confirm, timeout: 2s}\n")
    reports = tmp_path / "reports"
    harness = kept_up_run(scenario, reports, isolated_state)
    clean = finish(harness, reports)
    assert clean, "the latency toxic was reverted"
    result = read_result(reports)
    assert result["verdict"] == "aborted" and result["reason"] == "gate not confirmed within 2s: gate 1", result["reason"]
    events = journal_events(reports)
    assert "fault-reverted" in events and events[-1] == "run-end"

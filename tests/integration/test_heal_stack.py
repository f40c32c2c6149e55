"""`failover heal` on the real local stack: a live run is left alone unless forced, and leftovers are
found without a journal (by the `failover-` toxic prefix and the backend's own records)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from harness.cli import main
from harness.faults.hop.partition import Partition
from harness.faults.hop.toxic import Toxic
from harness.heal import heal
from tests.conftest import local_binaries_available, require
from tests.integration._runs import (
    PROJECT,
    background_run,
    journal_entries,
    journal_events,
    local_stack,
    nothing_injected,
    wait_until,
    write_scenario,
)

pytestmark = pytest.mark.integration


def test_heal_refuses_a_live_run_unless_forced(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = write_scenario(tmp_path, "live", "{at: 0s, action: pause, target: model-a, duration: 5m}")
    reports = tmp_path / "reports"
    harness = background_run(scenario, reports, isolated_state)
    stack = local_stack()
    try:
        wait_until(lambda: "fault-injected" in journal_events(reports), "the fault was injected", harness)
        done, failed = heal()
        assert done == [] and "still going" in failed[0]
        assert {s.name: s.state for s in stack.status()}["model-a"] == "paused", "heal left the live run alone"
        done, failed = heal(force=True)
        assert failed == [] and done == [f"reverted pause model-a (run {journal_entries(reports)[0]['run_id']}, live)"]
        assert nothing_injected(stack)
    finally:
        harness.send_signal(signal.SIGTERM)
        try:
            harness.wait(timeout=120)
        finally:
            if harness.poll() is None:
                harness.kill()
            stack.down()


def test_heal_finds_leftovers_without_a_journal(isolated_state: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    stack = local_stack()
    try:
        stack.up(progress=False)
        url = stack.endpoints().toxiproxy_url
        stack.pause("model-a")
        stack.stop("redis-2")
        Toxic(url, "gateway-model-b", "latency", {"latency": 300, "jitter": 0}).inject()
        Partition(url, "gateway-model-fallback").inject()

        assert main(["heal", "--project", PROJECT, "--backend", "local"]) == 0

        assert nothing_injected(stack)
        assert main(["heal", "--project", PROJECT, "--backend", "local"]) == 0, "nothing left the second time"
    finally:
        stack.down()

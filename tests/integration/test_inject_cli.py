"""`failover inject | faults | heal ID | audit` on the real local stack: a timed toxic reverts itself,
an untimed kill stays until healed by id, and a CLI killed with SIGKILL during `--for` leaves a fault
that `failover heal --all` reverts, with the whole story in the audit trail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import audit
from harness.adhoc import active_faults
from harness.cli import main
from harness.faults.hop.toxic import toxiproxy_api
from harness.stack.local import LocalStack
from tests.conftest import REPO
from tests.integration._runs import (
    PROJECT,
    nothing_injected,
    running_local_stack,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(isolated_state: Path) -> Iterator[LocalStack]:
    with running_local_stack() as running:
        yield running


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *argv, "--project", PROJECT, "--backend", "local"]


def _inject_in_background(state: Path, *argv: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FAILOVER_STATE_DIR": str(state), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(_cli("inject", *argv), env=env, cwd=REPO, stdout=subprocess.DEVNULL)


def _state(stack: LocalStack, service: str) -> str:
    return {status.name: status.state for status in stack.status()}[service]


def test_a_timed_toxic_is_in_effect_then_reverted_by_the_command(stack: LocalStack, isolated_state: Path) -> None:
    injector = _inject_in_background(isolated_state, "latency", "gateway->model-a", "--latency", "300ms", "--for", "3s")
    proxy = lambda: toxiproxy_api(stack.endpoints().toxiproxy_url).get_proxy("gateway-model-a")  # noqa: E731
    wait_until(lambda: bool(proxy().toxics()), "the toxic is in effect", injector)
    (fault,) = active_faults()
    assert (fault.type, fault.target, fault.source, fault.live) == ("latency", "gateway->model-a", "inject", True)
    assert fault.until is not None and fault.since is not None and 2.5 <= fault.until - fault.since <= 3.5
    assert injector.wait(timeout=60) == 0
    assert proxy().toxics() == {} and active_faults() == []


def test_an_untimed_kill_stays_until_healed_by_its_id(
    stack: LocalStack, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inject", "kill", "model-b", "--project", PROJECT, "--backend", "local"]) == 0
    assert _state(stack, "model-b") != "running"
    (fault,) = active_faults()
    assert main(["faults"]) == 0
    listed = capsys.readouterr().out
    assert fault.id in listed and "until healed" in listed
    assert main(["heal", fault.id]) == 0
    assert _state(stack, "model-b") == "running" and active_faults() == []


def test_sigkill_during_for_leaves_a_fault_that_heal_all_reverts(stack: LocalStack, isolated_state: Path) -> None:
    injector = _inject_in_background(isolated_state, "pause", "model-a", "--for", "10m")
    wait_until(lambda: _state(stack, "model-a") == "paused", "model-a is paused", injector)
    wait_until(lambda: len(active_faults()) == 1, "the fault is journaled as in effect", injector)
    injector.send_signal(signal.SIGKILL)
    injector.wait(timeout=30)
    (fault,) = active_faults()
    assert not fault.live, "its owner is gone"
    assert main(["heal", "--all", "--project", PROJECT, "--backend", "local"]) == 0
    assert nothing_injected(stack) and active_faults() == []
    trail = [(entry["action"], entry["type"], entry["source"], entry["outcome"]) for entry in audit.entries()]
    run_id = fault.id.split(".")[0]
    assert trail == [("inject", "pause", run_id, "ok"), ("revert", "pause", "heal", "ok")]


def test_a_target_outside_the_opt_in_is_refused_and_nothing_is_journaled(
    stack: LocalStack, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inject", "kill", "model-z", "--project", PROJECT, "--backend", "local"]) == 2
    assert "did you mean 'model-" in capsys.readouterr().err
    assert active_faults() == [] and list(audit.entries()) == []
    assert {status.state for status in stack.status()} == {"running"}

"""Local-backend specifics: restart policy like Docker's, pause, and cleanup after a dead supervisor."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.conftest import local_binaries_available, require
from tests.integration.stack_checks import haproxy_state, leftovers, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    state = tmp_path_factory.mktemp("local-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(state))
        yield state


@pytest.fixture(scope="module")
def stack(state_dir: Path) -> Iterator[LocalStack]:
    stack = LocalStack(StackSettings(project="failover-test-local"))
    stack.up(timeout_s=60, progress=False)
    yield stack
    stack.down()


def _status(stack: LocalStack, service: str) -> tuple[str, int, int | None]:
    status = next(s for s in stack.status() if s.name == service)
    return status.state, status.restarts, int(status.ref) if status.ref else None


def test_a_service_that_dies_on_its_own_is_restarted(stack: LocalStack) -> None:
    _, restarts, pid = _status(stack, "model-b")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # a crash, not an operator's kill
    wait_for(lambda: _status(stack, "model-b")[1] == restarts + 1, 10, "the supervisor to restart model-b")
    assert _status(stack, "model-b")[0] == "running"
    wait_for(lambda: haproxy_state(stack, "model-b") == "UP", 30, "model-b back UP")


def test_an_operator_kill_stays_down_until_started(stack: LocalStack) -> None:
    stack.kill("model-b")
    assert _status(stack, "model-b")[0] == "stopped"
    wait_for(lambda: haproxy_state(stack, "model-b") == "DOWN", 5, "model-b DOWN")
    assert _status(stack, "model-b")[0] == "stopped", "the restart policy must not revive a killed service"
    stack.start("model-b")
    wait_for(lambda: haproxy_state(stack, "model-b") == "UP", 30, "model-b back UP")


def test_pause_freezes_the_process_and_unpause_resumes_it(stack: LocalStack) -> None:
    stack.pause("model-a")
    pid = _status(stack, "model-a")[2]
    assert pid is not None
    try:
        assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
        assert _status(stack, "model-a")[0] == "paused"
        wait_for(lambda: haproxy_state(stack, "model-a") == "DOWN", 5, "a hung model-a to be marked DOWN")
    finally:
        stack.unpause("model-a")
    wait_for(lambda: haproxy_state(stack, "model-a") == "UP", 10, "model-a back UP")


def test_down_cleans_up_after_a_killed_supervisor(stack: LocalStack, state_dir: Path, tmp_path: Path) -> None:
    supervisor = int((stack.run_dir / "supervisor.pid").read_text())
    children = [pid for pid, _ in json.loads((stack.run_dir / "state.json").read_text())["processes"]]
    os.kill(supervisor, signal.SIGKILL)
    psutil.Process(supervisor).wait(5) if psutil.pid_exists(supervisor) else None
    assert any(psutil.pid_exists(pid) for pid in children if pid != supervisor), "services outlive the supervisor"
    stack.down()
    assert leftovers(stack, tmp_path, state_dir) == []


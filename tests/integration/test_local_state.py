"""A running local stack keeps its state private: modes, environment, control socket."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.stack import StackSettings
from harness.stack.local import LocalStack
from harness.stack.supervisor import control_socket
from tests.conftest import local_binaries_available, require
from tests.integration.stack_checks import wait_for

pytestmark = pytest.mark.integration

SECRET = ("DEPLOY_SECRET_TOKEN", "hunter2")


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    # long enough that the control socket does not fit in the run dir and falls back to the temp dir
    state = tmp_path_factory.mktemp("local-state") / ("s" * 60)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(state))
        patch.setenv(*SECRET)
        yield state


@pytest.fixture(scope="module")
def stack(state_dir: Path) -> Iterator[LocalStack]:
    stack = LocalStack(StackSettings(project="failover-test-state"))
    stack.up(timeout_s=60, progress=False)
    yield stack
    stack.down()


def _open_to_others(root: Path) -> list[str]:
    paths = [root, *root.rglob("*")]
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in paths if p.lstat().st_mode & 0o077]


def test_every_state_file_and_folder_is_the_users_only(stack: LocalStack, state_dir: Path) -> None:
    dump = stack.run_dir / "redis-2" / "dump.rdb"  # the replica's copy of the primary's data
    wait_for(dump.exists, 30, "redis-2 to save the data it replicated")
    names = {path.name for path in state_dir.rglob("*")}
    assert {"plan.json", "supervisor.log", "state.json", "model-a.log", "proxies.json"} <= names
    assert _open_to_others(state_dir) == []


def test_services_get_only_the_variables_they_need(stack: LocalStack) -> None:
    plans = json.loads((stack.run_dir / "plan.json").read_text())
    assert all(SECRET[0] not in plan["env"] for plan in plans)
    pid = int(next(status.ref for status in stack.status() if status.name == "model-a"))
    assert SECRET[0] not in psutil.Process(pid).environ()


def test_the_control_socket_is_in_a_private_temp_folder_removed_by_down(stack: LocalStack) -> None:
    socket_path = control_socket(stack.run_dir)
    assert socket_path.parent != stack.run_dir, "the run dir is too long for AF_UNIX: the fallback is used"
    assert stat.S_IMODE(socket_path.parent.lstat().st_mode) == 0o700
    assert stat.S_ISSOCK(socket_path.lstat().st_mode)
    stack.down()
    assert not socket_path.parent.exists()

"""Helpers for integration tests that run scenarios on the real local stack under one project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.faults.hop.toxic import toxiproxy_api
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.conftest import REPO, local_binaries_available, require

PROJECT = "failover-test-cleanup"
SHORT = "load: {users: 0, probe_rate: 50}\nsteady_state: {warmup: 1s, check: 1s}\nslos: {availability: 50%, bucket: 500ms}\n"


def write_scenario(tmp_path: Path, name: str, *faults: str, observe_after: str = "2s") -> Path:
    path = tmp_path / f"{name}.yaml"
    timeline = "".join(f"  - {fault}\n" for fault in faults)
    path.write_text(f"name: {name}\n{SHORT}observe_after: {observe_after}\ntimeline:\n{timeline}")
    return path


def read_result(reports: Path) -> dict[str, Any]:
    (path,) = reports.glob("*/result.json")
    return json.loads(path.read_text())


def journal_entries(reports: Path) -> list[dict[str, Any]]:
    (path,) = reports.glob("*/journal.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def local_stack() -> LocalStack:
    return LocalStack(StackSettings(project=PROJECT))


@contextmanager
def running_local_stack() -> Iterator[LocalStack]:
    """The reference stack up on the local backend under PROJECT, and down afterwards."""
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    stack = local_stack()
    stack.up(progress=False)
    try:
        yield stack
    finally:
        stack.down()


def nothing_injected(stack: LocalStack) -> bool:
    proxies = toxiproxy_api(stack.endpoints().toxiproxy_url).proxies()
    running = {s.state for s in stack.status()} == {"running"}
    return running and all(p.enabled and p.toxics() == {} for p in proxies.values())


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process is None or process.poll() is None, f"the harness ended before {what}"
        assert time.monotonic() < deadline, f"not in time: {what}"
        time.sleep(0.1)


def background_run(scenario: Path, reports: Path, state: Path) -> subprocess.Popen[bytes]:
    """`failover run` in a child process; its stderr goes to `stderr_of(reports)`."""
    reports.mkdir(parents=True, exist_ok=True)
    with open(stderr_of(reports), "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports)],
            env={**os.environ, "FAILOVER_STATE_DIR": str(state), "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=REPO,
        )


def stderr_of(reports: Path) -> Path:
    return reports.parent / "harness.stderr"


def journal_events(reports: Path) -> list[str]:
    journals = list(reports.glob("*/journal.jsonl"))
    return [json.loads(line)["event"] for line in journals[0].read_text().splitlines()] if journals else []

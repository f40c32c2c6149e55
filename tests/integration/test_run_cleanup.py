"""Clean-up whatever goes wrong, on the real local stack: an exception from a fault, or Ctrl-C/SIGTERM
outside the fault timeline (stack up, load start-up, store read-back)."""

from __future__ import annotations

import importlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.cli import main
from harness.faults.hop.toxic import Toxic
from tests.conftest import local_binaries_available, require
from tests.integration._runs import (
    PROJECT,
    background_run,
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


def test_sigterm_during_stack_up_ends_in_an_error_result_without_a_traceback(
    isolated_state: Path, tmp_path: Path
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = write_scenario(tmp_path, "up-cut", "{at: 0s, action: pause, target: model-a, duration: 5s}")
    reports = tmp_path / "reports"
    harness = background_run(scenario, reports, isolated_state)
    supervisor_pid = isolated_state / "local" / PROJECT / "supervisor.pid"
    try:
        wait_until(supervisor_pid.exists, "the stack started coming up", harness)
        harness.send_signal(signal.SIGTERM)
        harness.wait(timeout=120)
    finally:
        if harness.poll() is None:
            harness.kill()
        local_stack().down()
    stderr = stderr_of(reports).read_text()
    assert "Traceback" not in stderr, stderr[-2000:]
    assert harness.returncode == 2
    result = read_result(reports)
    assert result["verdict"] == "error" and "SIGTERM during stack up" in result["reason"], result["reason"]
    assert "fault-intent" not in journal_events(reports) and journal_events(reports)[-1] == "run-end"
    assert supervisor_pid.exists() is False, "the run brought its stack down"


def _signal_self_then(original: Callable[..., Any]) -> Callable[..., Any]:
    """`original`, with a SIGTERM delivered to this process while it runs (the real handler fires)."""

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1.0)  # the handler runs in here, at the latest
        return original(*args, **kwargs)

    return interrupted


def _resolve(owner: str) -> Any:
    """'package.module' or 'package.module:Class'."""
    module, _, name = owner.partition(":")
    imported = importlib.import_module(module)
    return getattr(imported, name) if name else imported


def _run_with_sigterm_in(
    owner: str, attribute: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, Any], Path]:
    """Run a short partition with a SIGTERM delivered while `owner.attribute` runs."""
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    target = _resolve(owner)
    monkeypatch.setattr(target, attribute, _signal_self_then(getattr(target, attribute)))
    scenario = write_scenario(tmp_path, "cut", "{at: 0s, action: partition, target: gateway->model-a, duration: 1s}")
    reports = tmp_path / "reports"
    try:
        code = main(["run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports)])
    finally:
        local_stack().down()
    assert journal_entries(reports)[-1]["event"] == "run-end"
    assert local_stack().status()[0].state == "missing", "the run brought its stack down"
    return code, read_result(reports), reports


def test_sigterm_while_the_load_starts_ends_in_an_error_result(
    isolated_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, result, _ = _run_with_sigterm_in("harness.load.load_mix:LoadMix", "__enter__", tmp_path, monkeypatch)
    assert (code, result["verdict"]) == (2, "error") and "SIGTERM" in result["reason"], result["reason"]


def test_sigterm_during_the_store_read_back_aborts_and_keeps_what_was_measured(
    isolated_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, result, _ = _run_with_sigterm_in("harness.observe.stores:SentinelChecker", "missing", tmp_path, monkeypatch)
    assert (code, result["verdict"]) == (1, "aborted") and "SIGTERM" in result["reason"], result["reason"]
    (fault,) = result["faults"]
    assert fault["rto_s"] is not None, "the fault was still scored"
    assert "SIGTERM" in fault["not_measured"]["lost_writes"], "the read-back did not finish"


def test_any_exception_from_a_fault_reverts_the_others_and_ends_in_error_exit_2(
    isolated_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")

    def refused(self: Toxic) -> None:
        raise requests.ConnectionError(f"connection to Toxiproxy refused (adding {self.toxic_name})")

    monkeypatch.setattr(Toxic, "inject", refused)
    scenario = write_scenario(
        tmp_path,
        "inject-raises",
        "{at: 0s, action: pause, target: model-a, duration: 5m}",
        "{at: 0s, action: partition, target: gateway->model-fallback, duration: 5m}",
        "{at: 1s, action: latency, target: gateway->model-b, latency: 300ms, duration: 5m}",
    )
    reports = tmp_path / "reports"
    stack = local_stack()
    try:
        code = main(["run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports), "--keep-up"])
        assert nothing_injected(stack), "the faults injected before the failure were reverted"
    finally:
        stack.down()
    result = read_result(reports)
    assert (code, result["verdict"]) == (2, "error")
    assert "could not inject 'latency latency=300ms" in result["reason"] and "ConnectionError" in result["reason"]
    events = [(e["event"], e.get("fault")) for e in journal_entries(reports)]
    assert {("fault-reverted", 0), ("fault-reverted", 1), ("fault-inject-failed", 2)} <= set(events)
    assert events[-1] == ("run-end", None)

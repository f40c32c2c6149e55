"""`failover run` end to end: real stack, real faults, real load, a verdict and a report.

How fast (TTD, requests made, time to abort) is a figure: tests/benchmarks/run_bench.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.faults.hop.toxic import toxiproxy_api
from harness.heal import heal
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.conftest import REPO, docker_available, local_binaries_available, require

pytestmark = pytest.mark.integration
PROJECT = "failover-test-run"
FAULT_S = 60
BLACKOUT = (
    "name: blackout\n"
    "load: {users: 0, probe_rate: 50, probe_timeout: 500ms}\n"
    "steady_state: {warmup: 1s, check: 1s}\n"
    "timeline:\n"
    + "".join(
        f"  - {{at: 0s, action: partition, target: gateway->{server}, duration: {FAULT_S}s}}\n"
        for server in ("model-a", "model-b", "model-fallback")
    )
    + "slos: {availability: 99%, bucket: 500ms}\n"
    "stop_conditions: [{availability_below: 50%, for: 2s}]\n"
)
"""Every model server partitioned for a minute: the stop condition must abort the run long before."""


@pytest.mark.parametrize("backend", ["local", "compose"])
def test_replica_kill_passes_and_writes_every_output(
    backend: str, isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    if backend == "compose":
        require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    scenario = REPO / "scenarios" / "ci" / "replica-kill.yaml"
    argv = ["run", str(scenario), "--backend", backend, "--project", PROJECT, "--reports-dir", str(tmp_path)]
    code = main(argv)
    (run_dir,) = tmp_path.glob("*-replica-kill")
    result = json.loads((run_dir / "result.json").read_text())
    assert code == 0, (result["verdict"], result["reason"], capsys.readouterr().out[-2000:])
    assert result["verdict"] == "pass" and result["backend"] == backend
    (fault,) = result["faults"]
    assert fault["type"] == "kill" and fault["target"] == "model-a"
    assert fault["failed_requests"] == 0
    assert fault["ttd_s"] is not None and fault["ttd_s"] >= 0, "HAProxy marked model-a DOWN"
    assert {"rto", "availability", "latency_p95"} <= {slo["name"] for slo in fault["slos"]}
    for name in ("report.html", "junit.xml", "journal.jsonl", "requests.parquet", "summary.md"):
        assert (run_dir / name).exists(), name
    assert result["requests"]["probe"] > 0 and result["requests"]["locust"] > 0, "both load sources recorded"


def test_an_impossible_slo_fails_with_exit_1_naming_the_slo(
    isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    text = (REPO / "scenarios" / "ci" / "model-partition.yaml").read_text()
    scenario = tmp_path / "impossible.yaml"
    scenario.write_text(text.replace("name: model-partition", "name: impossible").replace("p95: 750ms", "p95: 1ms"))
    code = main(["run", str(scenario), "--project", PROJECT, "--reports-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "latency p95" in out


def _journal_events(reports: Path) -> list[dict[str, object]]:
    journals = list(reports.glob("*/journal.jsonl"))
    if not journals:
        return []
    return [json.loads(line) for line in journals[0].read_text().splitlines() if line.strip()]


def _run_in_background(scenario: Path, reports: Path, state: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports)],
        env={**os.environ, "FAILOVER_STATE_DIR": str(state)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )


def _wait_until_injected(harness: subprocess.Popen[bytes], reports: Path, count: int) -> None:
    deadline = time.monotonic() + 90
    while sum(e["event"] == "fault-injected" for e in _journal_events(reports)) < count:
        assert harness.poll() is None, "the harness ended before injecting its faults"
        assert time.monotonic() < deadline, "faults were not injected in time"
        time.sleep(0.2)


def fault_durations(events: list[dict[str, object]]) -> dict[int, float | None]:
    """Seconds each fault was in place, from the journal; None for one never reverted."""
    injected = {e["fault"]: e["at"] for e in events if e["event"] == "fault-injected"}
    reverted = {e["fault"]: e["at"] for e in events if e["event"] == "fault-reverted"}
    return {fault: reverted[fault] - at if fault in reverted else None for fault, at in injected.items()}


def _assert_nothing_injected(stack: LocalStack) -> None:
    assert {s.state for s in stack.status()} == {"running"}
    proxies = toxiproxy_api(stack.endpoints().toxiproxy_url).proxies()
    assert all(proxy.enabled and proxy.toxics() == {} for proxy in proxies.values())


def test_heal_reverts_what_a_killed_harness_left_behind(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = tmp_path / "long-faults.yaml"
    scenario.write_text(
        "name: long-faults\n"
        "load: {users: 0, probe_rate: 50}\n"
        "steady_state: {warmup: 1s, check: 1s}\n"
        "timeline:\n"
        "  - {at: 0s, action: pause, target: model-a, duration: 5m}\n"
        "  - {at: 0s, action: latency, target: gateway->model-b, latency: 300ms, duration: 5m}\n"
        "  - {at: 0s, action: partition, target: gateway->model-fallback, duration: 5m}\n"
        "  - {at: 0s, action: stop, target: redis-2, duration: 5m}\n"
        "slos: {availability: 50%, bucket: 500ms}\n"
    )
    reports = tmp_path / "reports"
    harness = _run_in_background(scenario, reports, isolated_state)
    stack = LocalStack(StackSettings(project=PROJECT))
    try:
        _wait_until_injected(harness, reports, 4)
        harness.send_signal(signal.SIGKILL)
        harness.wait()
        states = {s.name: s.state for s in stack.status()}
        assert states["model-a"] == "paused" and states["redis-2"] == "stopped", "the faults outlived the harness"

        done, failed = heal()
        assert failed == [] and len(done) == 4

        _assert_nothing_injected(stack)
        assert heal() == ([], []), "a second heal has nothing left to do"
    finally:
        if harness.poll() is None:
            harness.kill()
        stack.down()


def test_sigterm_mid_fault_reverts_and_reports_aborted(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = tmp_path / "terminated.yaml"
    scenario.write_text(
        "name: terminated\n"
        "load: {users: 0, probe_rate: 50}\n"
        "steady_state: {warmup: 1s, check: 1s}\n"
        "timeline:\n"
        "  - {at: 0s, action: pause, target: model-b, duration: 5m}\n"
        "  - {at: 0s, action: latency, target: gateway->model-a, latency: 200ms, duration: 5m}\n"
        "slos: {availability: 50%, bucket: 500ms}\n"
    )
    reports = tmp_path / "reports"
    harness = _run_in_background(scenario, reports, isolated_state)
    stack = LocalStack(StackSettings(project=PROJECT))
    try:
        _wait_until_injected(harness, reports, 2)
        assert {s.name: s.state for s in stack.status()}["model-b"] == "paused"
    except AssertionError:
        harness.kill()
        stack.down()
        raise
    harness.send_signal(signal.SIGTERM)
    assert harness.wait(timeout=60) == 1
    (result_file,) = reports.glob("*/result.json")
    result = json.loads(result_file.read_text())
    assert result["verdict"] == "aborted" and "SIGTERM" in result["reason"]
    assert _journal_events(reports)[-1]["event"] == "run-end"
    assert stack.status()[0].state == "missing", "the run brought its stack down"


def test_a_stop_condition_aborts_the_run_and_reverts(
    isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = tmp_path / "blackout.yaml"
    scenario.write_text(BLACKOUT)
    code = main(["run", str(scenario), "--project", PROJECT, "--reports-dir", str(tmp_path / "reports"), "--keep-up"])
    stack = LocalStack(StackSettings(project=PROJECT))
    try:
        assert code == 1
        durations = fault_durations(_journal_events(tmp_path / "reports"))
        assert len(durations) == 3, durations
        assert all(held is not None and held < FAULT_S for held in durations.values()), "the faults were cut short"
        (result_file,) = (tmp_path / "reports").glob("*/result.json")
        result = json.loads(result_file.read_text())
        assert result["verdict"] == "aborted" and "stop condition" in result["reason"]
        _assert_nothing_injected(stack)
    finally:
        stack.down()
    assert "aborting" in capsys.readouterr().out

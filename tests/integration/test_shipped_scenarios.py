"""Every shipped scenario passes, and shows the failure it is about.

Each runs once, on one backend (spread across the two, so that both see failover and ML faults);
replica-kill has its own, more detailed tests on both in test_run_end_to_end.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.cli import main
from tests.conftest import REPO, docker_available, local_binaries_available, require

pytestmark = pytest.mark.integration
PROJECT = "failover-test-shipped"
FAILOVER = {
    "ci/model-partition": "compose",
    "replica-pause": "local",
    "model-latency-spike": "compose",
    "all-replicas-down": "local",
    # compose: where a dead primary's name leaves Docker's DNS (compose/redis/pin_hosts.py)
    "store-primary-kill": "compose",
    "gameday/reference-gameday": "local",
}
ML = {
    "ml/corrupted-artifact": "local",
    "ml/crash-on-load": "compose",
    "ml/schema-drift": "local",
    "ml/bad-model-push": "compose",
    "ml/canary-rollback": "local",
    "ml/slow-model": "local",
    "ml/registry-down-during-rollback": "compose",
}
CHAMPION, PREVIOUS = "v2", "v1"


def _run(scenario: str, backend: str, reports: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], Path]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    if backend == "compose":
        require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    path = REPO / "scenarios" / f"{scenario}.yaml"
    code = main(["run", str(path), "--backend", backend, "--project", PROJECT, "--reports-dir", str(reports)])
    (run_dir,) = reports.glob(f"*-{path.stem}")
    result = json.loads((run_dir / "result.json").read_text())
    assert code == 0, (result["verdict"], result["reason"], capsys.readouterr().out[-3000:])
    return result, run_dir


def test_every_shipped_scenario_is_run_here() -> None:
    shipped = {str(path.relative_to(REPO / "scenarios").with_suffix("")) for path in (REPO / "scenarios").rglob("*.yaml")}
    assert shipped == {*FAILOVER, *ML, "ci/replica-kill"}, "a new scenario needs a line in FAILOVER or ML"


@pytest.mark.parametrize(("scenario", "backend"), FAILOVER.items())
def test_failover_scenario_passes_and_the_stack_saw_the_fault(
    scenario: str, backend: str, isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result, run_dir = _run(scenario, backend, tmp_path, capsys)
    assert result["verdict"] == "pass" and result["steady_state_ok"]
    for fault in result["faults"]:
        assert fault["ttd_s"] is not None, f"the stack never marked {fault['target']} DOWN"
        assert fault["reverted_at"] is not None
        assert fault["lost_writes"] is not None, "the store was read back"
    states = pd.read_csv(run_dir / "server_states.csv")
    assert (states["state"].str.startswith("DOWN")).any()
    assert _last_state(states, "model-a") == "UP", "model-a serves again once the fault is reverted"
    assert "Application startup complete" in (run_dir / "logs" / "model-a.log").read_text(), "the stack's logs are kept"
    if scenario == "all-replicas-down":
        _check_degraded_service(run_dir, result)
    if scenario == "store-primary-kill":
        _check_store_failover(states, result, run_dir)


def _last_state(states: pd.DataFrame, server: str) -> str:
    return str(states[states["server"] == server]["state"].iloc[-1])


def _check_degraded_service(run_dir: Path, result: dict[str, Any]) -> None:
    """While both replicas are cut off, the fallback answers, marked degraded, with the previous version."""
    records = pd.read_parquet(run_dir / "requests.parquet")
    fault = result["faults"][0]
    # Both replicas certainly cut off: from the end of the inject call (+3 s to detect) to the start of
    # the revert call (the partition may lift, and model-a answer, at any moment within the call).
    cut_off_from = fault["injected_at"] + fault["inject_call_s"] + 3.0
    cut_off_until = fault["reverted_at"] - fault["revert_call_s"]
    inside = records[(records["sent_at"] > cut_off_from) & (records["sent_at"] < cut_off_until)]
    served = inside[inside["ok"]]
    assert len(served) > 100
    assert (served["served_by"] == "model-fallback").all()
    assert served["degraded"].all()
    assert set(served["model_version"]) == {"v1"}
    for each in result["faults"]:
        assert each["failback_s"] is not None and each["failback_errors"] == 0, "the primary pool took it back"


def _check_store_failover(states: pd.DataFrame, result: dict[str, Any], run_dir: Path) -> None:
    """The Sentinels declared redis-1 down and said so in their kept logs; it came back (as a replica);
    the store was read back for RPO (async replication may lose the last writes before the kill: the
    scenario's rpo SLO bounds them)."""
    (fault,) = result["faults"]
    sentinel_logs = "".join(path.read_text() for path in (run_dir / "logs").glob("sentinel-*.log"))
    assert "+switch-master predictions " in sentinel_logs
    assert "+tilt" not in sentinel_logs, "a Sentinel stalled (a blocked name lookup?) and suspended failovers"
    assert "Failed to resolve hostname" not in sentinel_logs
    redis_1 = states[states["server"] == "redis-1"]["state"].tolist()
    assert redis_1 == ["UP", "DOWN", "UP"]
    assert fault["rpo_s"] is not None and fault["rpo_s"] <= 1.0
    assert {slo["name"] for slo in fault["slos"]} >= {"rto", "rpo"}


@pytest.mark.parametrize(("scenario", "backend"), ML.items())
def test_ml_scenario_passes_and_shows_what_was_served(
    scenario: str, backend: str, isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result, run_dir = _run(scenario, backend, tmp_path, capsys)
    assert result["verdict"] == "pass" and result["steady_state_ok"]
    served = pd.read_parquet(run_dir / "requests.parquet")
    served = served[served["ok"]]
    replicas = served[served["served_by"].isin(["model-a", "model-b"])]
    name = scenario.removeprefix("ml/")
    if name in ("corrupted-artifact", "crash-on-load", "schema-drift"):
        assert set(replicas["model_version"]) == {CHAMPION}, "a bad version was never served"
        assert result["requests"]["failed"] == 0
    if name == "schema-drift":
        _check_malformed_rejected(run_dir, result)
    if name in ("bad-model-push", "registry-down-during-rollback", "canary-rollback"):
        _check_rolled_back(result, replicas, canary=name == "canary-rollback")
    if name == "slow-model":
        phases = {phase["kind"]: phase["at_s"] for phase in result["faults"][0]["quality"]["phases"]}
        assert all(phases[kind] is not None for kind in ("detect", "decide", "rollback")), phases


def _check_malformed_rejected(run_dir: Path, result: dict[str, Any]) -> None:
    """Every kind of malformed request was sent, and each got a 4xx."""
    (check,) = [slo for slo in result["faults"][0]["slos"] if slo["name"] == "malformed_rejected"]
    assert check["measured"] == 1.0
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    (findings,) = [entry["findings"] for entry in journal if entry["event"] == "fault-findings"]
    assert len(findings) == 8 and all(set(outcomes) == {"4xx"} for outcomes in findings.values()), findings


def _check_rolled_back(result: dict[str, Any], replicas: pd.DataFrame, canary: bool) -> None:
    """The pushed version was served, the guardian's detect, decide and rollback are on record, and every
    replica ended on the champion again (only model-b for a canary)."""
    fault = result["faults"][0]
    phases = {phase["kind"]: phase["at_s"] for phase in fault["quality"]["phases"]}
    assert all(phases[kind] is not None for kind in ("detect", "decide", "rollback", "verified")), phases
    assert phases["detect"] <= phases["decide"] <= phases["rollback"] <= phases["verified"]
    pushed = set(replicas["model_version"]) - {CHAMPION}
    assert len(pushed) == 1, f"one pushed version served, got {pushed}"
    (bad,) = pushed
    servers = set(replicas[replicas["model_version"] == bad]["served_by"])
    assert servers == ({"model-b"} if canary else {"model-a", "model-b"})
    last = replicas.sort_values("sent_at").groupby("served_by")["model_version"].last()
    assert set(last) == {CHAMPION}, f"every replica ends on the champion: {dict(last)}"

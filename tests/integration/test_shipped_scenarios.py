"""Every shipped scenario passes on both backends, and shows the failover it is about.

replica-kill has its own, more detailed test in test_run_end_to_end.py.
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
SCENARIOS = ["ci/model-partition", "replica-pause", "model-latency-spike", "all-replicas-down", "store-primary-kill"]


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


@pytest.mark.parametrize("backend", ["local", "compose"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shipped_scenario_passes_and_the_stack_saw_the_fault(
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
    if scenario == "all-replicas-down":
        _check_degraded_service(run_dir, result)
    if scenario == "store-primary-kill":
        _check_store_failover(states, result)


def _last_state(states: pd.DataFrame, server: str) -> str:
    return str(states[states["server"] == server]["state"].iloc[-1])


def _check_degraded_service(run_dir: Path, result: dict[str, Any]) -> None:
    """While both replicas are cut off, the fallback answers, marked degraded, with the previous version."""
    records = pd.read_parquet(run_dir / "requests.parquet")
    fault = result["faults"][0]
    inside = records[(records["sent_at"] > fault["injected_at"] + 3.0) & (records["sent_at"] < fault["reverted_at"])]
    served = inside[inside["ok"]]
    assert len(served) > 100
    assert (served["served_by"] == "model-fallback").all()
    assert served["degraded"].all()
    assert set(served["model_version"]) == {"v1"}


def _check_store_failover(states: pd.DataFrame, result: dict[str, Any]) -> None:
    """The Sentinels declared redis-1 down; it came back (as a replica); the store was read back for RPO
    (async replication may lose the last writes before the kill: the scenario's rpo SLO bounds them)."""
    (fault,) = result["faults"]
    redis_1 = states[states["server"] == "redis-1"]["state"].tolist()
    assert redis_1 == ["UP", "DOWN", "UP"]
    assert fault["rpo_s"] is not None and fault["rpo_s"] <= 1.0
    assert {slo["name"] for slo in fault["slos"]} >= {"rto", "rpo"}

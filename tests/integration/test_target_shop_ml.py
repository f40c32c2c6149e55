"""A user's own stack, of another shape, tested through its target file (issue 6).

tests/stacks/shop-ml is nginx in front of two replicas of a stdlib model
server that stores every prediction in PostgreSQL. The harness brings it up
with a generated override that puts Toxiproxy on its hops, runs a replica
kill, a hop latency spike, a hop partition and a partition during which the
last replica's database stalls (its RTO SLO fails when nginx keeps that
replica out of the pool after the stall), reads TTD from the replicas' own
/ping and RPO from SQL, and leaves the user's files as they were.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.cli import main
from harness.targets.loader import load_target
from tests.conftest import REPO, docker_available, require

pytestmark = [pytest.mark.integration, pytest.mark.compose]
SHOP = REPO / "tests" / "stacks" / "shop-ml"
TARGET = SHOP / "shop-ml.target.yaml"
SCENARIOS = ("shop-replica-kill", "shop-hop-latency", "shop-db-partition", "shop-db-partition-stall")


def _checksums(folder: Path) -> dict[str, str]:
    """Every file of the user's stack (its build cache aside)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".build" not in path.parts and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def shop_ml() -> Path:
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    subprocess.run(["bash", str(SHOP / "setup.sh")], check=True)  # the user's own offline wheel download
    return TARGET


def test_init_writes_a_target_and_scenarios_that_validate(tmp_path: Path) -> None:
    assert main(["init", "--compose", str(SHOP / "docker-compose.yml"), "--out", str(tmp_path)]) == 0
    (target,) = tmp_path.glob("*.target.yaml")
    shutil.copy(SHOP / "payloads.jsonl", tmp_path / "payloads.jsonl")  # init points at payloads.jsonl, beside it
    spec = load_target(target)
    assert {"app-1", "app-2"} <= set(spec.services)
    assert spec.entry.url.startswith("http://127.0.0.1:8088")
    assert main(["validate", str(tmp_path)]) == 0


def test_replica_kill_hop_latency_and_db_partition_through_the_target(
    shop_ml: Path, isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _checksums(SHOP)
    code = main(["run", str(SHOP / "scenarios"), "--reports-dir", str(tmp_path / "reports")])
    results = {r["scenario"]: r for r in map(_result, (tmp_path / "reports").glob("*-shop-*/result.json"))}
    assert code == 0, {name: (r["verdict"], r["reason"]) for name, r in results.items()}
    assert set(results) == set(SCENARIOS)
    for result in results.values():
        assert result["target"]["name"] == "shop-ml" and result["backend"] == "compose"
        assert result["target"]["compose_sha256"] == before["docker-compose.yml"]
        assert result["target"]["file"] == str(shop_ml)
        for fault in result["faults"]:
            assert fault["lost_writes"] == 0 and "rpo" not in fault["not_measured"], "read back from PostgreSQL"
            assert fault["requests"] > 50
    kill, latency, partition, _ = (results[name]["faults"][0] for name in SCENARIOS)
    assert kill["ttd_s"] is not None, "app-1's /ping said DOWN"
    assert partition["ttd_s"] is not None, "app-1's /ping fails without its database"
    assert latency["ttd_s"] is None and "ttd" not in latency["not_measured"], "watched, and nothing said DOWN"
    assert _checksums(SHOP) == before, "the user's compose file and sources are untouched"
    assert not _project_containers("failover-shop-ml"), "the stack was brought down"


def _result(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _project_containers(project: str) -> list[str]:
    client = docker.from_env()
    return [c.name for c in client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})]

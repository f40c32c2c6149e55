"""The machine outputs of a real run on the local stack: result.json follows its schema and names its
environment, junit.xml reads with a standard reader, and `failover report` writes the same reports again
from the run's stored records."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from junitparser import JUnitXml

from harness.cli import main
from harness.environment import machine
from harness.result import SCHEMA_VERSION
from tests.conftest import REPO, docker_available, local_binaries_available, require
from tests.integration._runs import read_result, write_scenario
from tests.schema_check import schema_errors

pytestmark = pytest.mark.integration
PROJECT = "failover-test-outputs"
REPORTS = ("result.json", "report.html", "junit.xml", "summary.md")


def test_a_real_run_writes_valid_outputs_that_failover_report_writes_again(
    isolated_state: Path, tmp_path: Path
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = write_scenario(tmp_path, "outputs", "{at: 1s, action: kill, target: model-b, duration: 1s}")
    reports = tmp_path / "reports"
    main(["run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports)])
    result = read_result(reports)
    (run_dir,) = reports.glob("*-outputs")

    assert schema_errors(result) == []
    assert result["schema_version"] == SCHEMA_VERSION and result["faults"], result["reason"]
    environment = result["environment"]
    git = ["git", "-C", str(REPO), "rev-parse", "HEAD"]
    head = subprocess.run(git, capture_output=True, text=True, check=True).stdout
    assert environment["stack_git"]["commit"] == head.strip(), "the reference stack is this checkout"
    assert environment["seed"] is None and environment["machine"]["docker"] is None
    junit = JUnitXml.fromfile(str(run_dir / "junit.xml"))
    names = {case.name for suite in junit for case in suite}
    assert {f"outputs: kill model-b: {slo['name']}" for slo in result["faults"][0]["slos"]} <= names

    written = {name: (run_dir / name).read_bytes() for name in REPORTS}
    for name in REPORTS[1:]:
        (run_dir / name).unlink()
    assert main(["report", str(run_dir)]) == 0
    assert {name: (run_dir / name).read_bytes() for name in REPORTS} == written


def test_the_compose_backend_records_the_docker_engine_version() -> None:
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    asked = ["docker", "version", "--format", "{{.Server.Version}}"]
    engine = subprocess.run(asked, capture_output=True, text=True, check=True).stdout.strip()
    assert machine("compose").docker == engine
    assert machine("local").docker is None

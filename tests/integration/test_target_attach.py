"""`attach: true`: faults and load on a stack that was already up; afterwards it is still up, every fault reverted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.faults.hop.toxic import toxiproxy_api
from harness.stack import StackSettings, open_stack
from tests.conftest import REPO, docker_available, local_binaries_available, require

pytestmark = [pytest.mark.integration, pytest.mark.compose]
PROJECT = "failover-test-attach"

TARGET = f"""
name: running-reference
compose_file: {REPO}/compose/docker-compose.yml
project: {PROJECT}
attach: true
toxiproxy: http://127.0.0.1:8474
entry:
  url: http://127.0.0.1:8080/predict
  payloads: {REPO}/fixtures/requests/predict.jsonl
  prediction: prediction
  served_by_header: X-Served-By
services: [model-a]
hops:
  gateway->model-b: {{proxy: gateway-model-b}}
signals:
  model-a: {{haproxy: {{stats_url: "http://127.0.0.1:8404", backend: models}}}}
  model-b: {{haproxy: {{stats_url: "http://127.0.0.1:8404", backend: models}}}}
"""

SCENARIO = """
name: attached-faults
target: running.target.yaml
load: {users: 2, rate: 20, probe_rate: 50, probe_timeout: 1s}
steady_state: {warmup: 2s, check: 2s}
timeline:
  - {at: 1s, action: kill, target: model-a, duration: 4s}
  - {at: 7s, action: partition, target: gateway->model-b, duration: 3s}
slos: {rto: 5s, availability: 99%, bucket: 500ms, stable_for: 2s}
observe_after: 4s
"""


def test_an_attached_stack_is_tested_and_left_up_with_every_fault_reverted(
    isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    (tmp_path / "running.target.yaml").write_text(TARGET)
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    assert main(["stack", "up", "--backend", "compose", "--project", PROJECT]) == 0
    stack = open_stack("compose", StackSettings(project=PROJECT))
    try:
        code = main(["run", str(tmp_path / "scenario.yaml"), "--reports-dir", str(tmp_path / "reports")])
        (run_dir,) = (tmp_path / "reports").glob("*-attached-faults")
        result = json.loads((run_dir / "result.json").read_text())
        assert code == 0, (result["verdict"], result["reason"], capsys.readouterr().out[-2000:])
        assert [fault["ttd_s"] is not None for fault in result["faults"]] == [True, True]
        assert result["faults"][0]["not_measured"].keys() >= {"rpo", "lost_writes"}, "no store declared"
        statuses = {status.name: status.state for status in stack.status()}
        assert set(statuses.values()) == {"running"}, f"the attached stack is still up: {statuses}"
        proxies = toxiproxy_api("http://127.0.0.1:8474").proxies()
        assert all(proxy.enabled and not proxy.toxics() for proxy in proxies.values()), "every fault reverted"
    finally:
        stack.down()

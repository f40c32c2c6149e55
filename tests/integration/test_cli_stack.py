"""The `failover` command when a stack cannot start: planning it needs the
local binaries (HAProxy, Redis, toxiproxy-server) and a port held by another
process, so these are integration tests."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from harness.cli import main
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _binaries() -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")


def test_port_taken_names_port_and_owner_and_starts_nothing(
    capsys: pytest.CaptureFixture[str], isolated_state: object
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        code = main(["stack", "up", "--project", "cli-test", "--gateway-port", str(port), "--timeout", "5"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {port} (gateway listen port) is already in use by pid" in err
    assert main(["stack", "status", "--json", "--project", "cli-test"]) == 0
    assert '"running"' not in capsys.readouterr().out


def test_run_whose_stack_cannot_start_reports_verdict_error_and_exits_2(
    capsys: pytest.CaptureFixture[str], isolated_state: object, tmp_path: Path
) -> None:
    scenario = Path(__file__).parents[2] / "scenarios" / "ci" / "replica-kill.yaml"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        argv = ["run", str(scenario), "--backend", "local", "--project", "cli-test", "--gateway-port", str(port)]
        code = main([*argv, "--reports-dir", str(tmp_path)])
    assert code == 2
    (run_dir,) = tmp_path.glob("*-replica-kill")
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verdict"] == "error"
    assert f"port {port}" in result["reason"]
    assert {"report.html", "junit.xml", "summary.md"} <= {path.name for path in run_dir.iterdir()}
    assert "ERROR" in capsys.readouterr().out

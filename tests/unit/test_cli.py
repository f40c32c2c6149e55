"""The `failover` command's contract: exit codes and one clear error line plus a tip."""

from __future__ import annotations

import socket

import pytest

from harness import __version__
from harness.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_service_is_bad_input_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "kill", "model-z", "--backend", "local", "--project", "cli-test"]) == 2
    err = capsys.readouterr().err
    assert "ERROR: unknown service 'model-z'" in err
    assert "TIP: did you mean" in err


def test_unknown_backend_is_rejected_by_the_parser() -> None:
    assert main(["stack", "status", "--backend", "kubernetes"]) == 2


def test_operating_on_a_stack_that_is_not_up_says_how_to_start_it(
    capsys: pytest.CaptureFixture[str], isolated_state: object
) -> None:
    assert main(["stack", "kill", "model-a", "--backend", "local", "--project", "cli-test"]) == 2
    err = capsys.readouterr().err
    assert "is not up" in err and "failover stack up" in err


def test_status_json_of_a_stack_that_is_down(capsys: pytest.CaptureFixture[str], isolated_state: object) -> None:
    import json

    assert main(["stack", "status", "--json", "--project", "cli-test"]) == 0
    statuses = json.loads(capsys.readouterr().out)
    assert {status["state"] for status in statuses} == {"missing"}
    assert "model-a" in {status["name"] for status in statuses}


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
    capsys: pytest.CaptureFixture[str], isolated_state: object, tmp_path: object
) -> None:
    import json
    from pathlib import Path

    scenario = Path(__file__).parents[2] / "scenarios" / "ci" / "replica-kill.yaml"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        argv = ["run", str(scenario), "--backend", "local", "--project", "cli-test", "--gateway-port", str(port)]
        code = main([*argv, "--reports-dir", str(tmp_path)])
    assert code == 2
    (run_dir,) = Path(str(tmp_path)).glob("*-replica-kill")
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verdict"] == "error"
    assert f"port {port}" in result["reason"]
    assert {"report.html", "junit.xml", "summary.md"} <= {path.name for path in run_dir.iterdir()}
    assert "ERROR" in capsys.readouterr().out

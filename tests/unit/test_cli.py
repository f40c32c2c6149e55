"""The `failover` command's contract: exit codes and one clear error line plus a tip."""

from __future__ import annotations

import pytest

from harness import __version__
from harness.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_service_is_bad_input_with_a_suggestion(
    capsys: pytest.CaptureFixture[str], isolated_state: object
) -> None:
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

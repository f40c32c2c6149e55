"""The GitHub Actions workflow: valid YAML, the steps a release gate needs, and only commands that exist here."""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from harness.cli import main
from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "failover.yml"


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _uses(action: str) -> list[dict[str, Any]]:
    return [step for step in _steps() if str(step.get("uses", "")).startswith(action)]


def test_the_workflow_runs_on_pull_requests_and_main() -> None:
    triggers = yaml.safe_load(WORKFLOW.read_text())[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]


def test_it_gates_on_the_ci_scenarios_on_compose_and_always_uploads_the_reports() -> None:
    runs = [step["run"] for step in _steps() if "run" in step]
    (gate,) = [run for run in runs if "failover ci" in run]
    argv = shlex.split(gate.split("${{")[0])  # the expression after it only adds --baseline
    assert argv[argv.index("ci") + 1] == "scenarios/ci/" and argv[argv.index("--backend") + 1] == "compose"
    (upload,) = _uses("actions/upload-artifact")
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
    assert _uses("actions/checkout") and _uses("actions/setup-python") and _uses("actions/setup-go")


def test_the_commands_it_calls_exist_here(capsys: Any) -> None:
    runs = " ".join(step["run"] for step in _steps() if "run" in step)
    assert "sudo bash compose/setup/system-deps.sh" in runs and (REPO / "compose/setup/system-deps.sh").exists()
    assert "make setup" in runs and "\nsetup:" in (REPO / "Makefile").read_text()
    for command in (["ci", "--help"], ["baseline", "save", "--help"]):
        assert main(command) == 0, command
    assert (REPO / "scenarios" / "ci").is_dir()

"""The local backend's state: project names that stay names, deletes that stay inside, files only the user reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import BadInput, InfrastructureError
from harness.stack import StackSettings
from harness.stack import local_plan
from harness.stack.local import LocalStack
from harness.stack.local_plan import PASSED_THROUGH, plan_service
from harness.stack.state import remove_state_tree, state_root, write_private
from harness.stack.supervisor import bind_control_socket, control_socket, remove_control_socket

BAD_PROJECTS = ["../../..", "..", "a/b", "/etc", "Failover", "-x", ""]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("project", BAD_PROJECTS)
def test_a_project_that_is_not_a_plain_name_is_refused_on_the_local_backend(project: str, isolated_state: Path) -> None:
    with pytest.raises(BadInput, match="invalid project name"):
        LocalStack(StackSettings(project=project))


def test_the_cli_refuses_a_bad_project_from_option_or_environment(
    isolated_state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stack", "down", "--backend", "local", "--project", "../../.."]) == 2
    assert "invalid project name '../../..'" in capsys.readouterr().err
    monkeypatch.setenv("FAILOVER_PROJECT", "../..")
    assert main(["stack", "down", "--backend", "local"]) == 2
    assert "invalid project name '../..'" in capsys.readouterr().err


def test_nothing_outside_the_state_directory_is_deleted(isolated_state: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "project").mkdir(parents=True)
    (outside / "project" / "keep.txt").write_text("mine")
    root = state_root()
    (root / "local").symlink_to(outside, target_is_directory=True)  # a state folder that leads out
    for path in (outside, root, root / "..", root / "local" / "project", root / "local"):
        with pytest.raises(InfrastructureError, match="refusing to delete"):
            remove_state_tree(path)
    assert (outside / "project" / "keep.txt").read_text() == "mine"
    inside = root / "runs" / "project"
    inside.mkdir(parents=True)
    remove_state_tree(inside)
    assert not inside.exists()


def test_the_state_directory_and_its_files_are_private(isolated_state: Path) -> None:
    root = state_root()
    assert _mode(root) == 0o700
    plan = root / "plan.json"
    plan.write_text("{}")
    plan.chmod(0o644)
    write_private(plan, '{"env": {}}')
    assert (_mode(plan), plan.read_text()) == (0o600, '{"env": {}}')


def test_a_plan_keeps_only_the_variables_the_service_needs(
    isolated_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_SECRET_TOKEN", "hunter2")
    spec = StackSettings().load_spec()
    plan = plan_service(spec, spec.services["model-a"], tmp_path / "run")
    assert "DEPLOY_SECRET_TOKEN" not in plan.env
    assert plan.env["PATH"] == os.environ["PATH"]
    assert set(plan.env) == {*spec.services["model-a"].environment, "PYTHONUNBUFFERED"} | (
        set(PASSED_THROUGH) & set(os.environ)
    )
    assert _mode(tmp_path / "run" / "model-a") == 0o700


def test_rendered_configs_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_plan, "find_executable", lambda program: "/bin/true")  # no Toxiproxy needed to render
    spec = StackSettings().load_spec()
    plan_service(spec, spec.services["toxiproxy"], tmp_path / "run")
    (rendered,) = (tmp_path / "run" / "toxiproxy").iterdir()
    assert _mode(rendered) == 0o600


def _long_run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / ("x" * 120) / "run"
    run_dir.mkdir(parents=True)
    return run_dir


def test_the_fallback_control_socket_cannot_be_predicted_from_the_run_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _long_run_dir(tmp_path)
    monkeypatch.setenv("FAILOVER_STATE_DIR", str(tmp_path / "state-a"))
    first = control_socket(run_dir)
    assert control_socket(run_dir) == first, "client and supervisor agree on it"
    monkeypatch.setenv("FAILOVER_STATE_DIR", str(tmp_path / "state-b"))
    assert control_socket(run_dir) != first, "another secret, another path: the run dir alone does not tell it"
    assert _mode(tmp_path / "state-b" / "socket.key") == 0o600


def test_the_fallback_control_socket_is_in_a_folder_only_the_user_enters(
    isolated_state: Path, tmp_path: Path
) -> None:
    run_dir = _long_run_dir(tmp_path)
    path = control_socket(run_dir)
    server = bind_control_socket(run_dir)
    try:
        folder = path.parent.lstat()
        assert (stat.S_IMODE(folder.st_mode), folder.st_uid) == (0o700, os.getuid())
        assert stat.S_ISSOCK(path.lstat().st_mode)
    finally:
        server.close()
        remove_control_socket(run_dir)
    assert not path.parent.exists()


def test_an_open_folder_at_the_fallback_path_is_refused(isolated_state: Path, tmp_path: Path) -> None:
    run_dir = _long_run_dir(tmp_path)
    folder = control_socket(run_dir).parent
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    try:
        with pytest.raises(InfrastructureError, match="not a private folder"):
            bind_control_socket(run_dir)
    finally:
        folder.rmdir()

"""Model faults on a running stack: its servers read the stack's own registry, never the committed fixtures."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import psutil
import pytest
from docker.models.containers import Container

from harness.faults.model.corrupt_artifact import CorruptArtifact
from harness.faults.model.push_version import PushVersion
from harness.faults.model.registry_down import RegistryDown
from harness.models.faulty import FaultyLibrary
from harness.stack import StackSettings
from harness.stack.compose import ComposeStack
from harness.stack.local import LocalStack
from harness.targets.reference import ReferenceTarget
from tests.conftest import REPO, docker_available, local_binaries_available, require
from tests.unit.test_model_registry_helpers import tree

pytestmark = pytest.mark.integration

PROJECT = "failover-model-faults"


@pytest.fixture
def stack(isolated_state: Path) -> Iterator[LocalStack]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    stack = LocalStack(StackSettings(project=PROJECT))
    yield stack
    stack.down()


def _library(folder: Path) -> FaultyLibrary:
    folder.mkdir()
    shutil.copy(REPO / "fixtures" / "models" / "v3" / "model.onnx", folder / "degraded.onnx")
    index = {"degraded": {"file": "degraded.onnx", "accuracy": 0.475, "what": "labels of digits 5-9 rotated"}}
    (folder / "index.json").write_text(json.dumps(index))
    return FaultyLibrary(folder)


def _registry_dir_of(stack: LocalStack, service: str) -> str:
    pid = int(next(status.ref for status in stack.status() if status.name == service))
    return psutil.Process(pid).environ()["REGISTRY_DIR"]


def test_a_stacks_model_faults_write_its_own_registry_and_leave_the_fixtures_untouched(
    stack: LocalStack, tmp_path: Path
) -> None:
    fixtures = tree(REPO / "fixtures", with_times=True)
    target = ReferenceTarget(stack.settings)
    target.bring_up(stack, progress=False, timeout_s=120)
    registry = target.model_registry("digits")
    assert registry.root == stack.settings.registry_dir
    for server in target.model("digits").served_by:
        assert _registry_dir_of(stack, server) == str(registry.root), f"{server} reads the stack's own copy"
    copy = tree(registry.root)

    push = PushVersion(registry, "champion", _library(tmp_path / "faulty"), "degraded")
    push.inject()
    assert registry.resolve("champion") == "v4" and registry.entry("v4")["metrics"] == {"accuracy": 0.475}
    push.revert()
    assert tree(registry.root) == copy

    CorruptArtifact(registry, "previous", "truncate").inject()  # left in effect: `down` takes it away
    assert registry.resolve("previous") == "v4"
    stack.down()
    assert not registry.root.exists() and not registry.root.parent.exists()
    assert tree(REPO / "fixtures", with_times=True) == fixtures


def _read_in(container: Container, path: str) -> str:
    """What a process in the container gets reading `path`: its text, or the name of the error."""
    script = f"import sys\ntry: print(open({path!r}).read())\nexcept OSError as e: print(type(e).__name__)"
    return container.exec_run(["python", "-c", script]).output.decode()


@pytest.mark.compose
def test_containers_see_the_stacks_registry_its_faults_and_its_outage(isolated_state: Path) -> None:
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    fixtures = tree(REPO / "fixtures", with_times=True)
    stack = ComposeStack(StackSettings(project=PROJECT))
    try:
        stack.up(timeout_s=180, progress=False)
        registry = ReferenceTarget(stack.settings).model_registry("digits")
        ref = next(status.ref for status in stack.status() if status.name == "model-a")
        container = docker.from_env().containers.get(ref)
        assert json.loads(_read_in(container, "/registry/manifest.json"))["aliases"]["champion"] == "v2"

        CorruptArtifact(registry, "champion", "checksum").inject()
        assert json.loads(_read_in(container, "/registry/manifest.json"))["aliases"]["champion"] == "v4"
        down = RegistryDown(registry)
        down.inject()
        assert _read_in(container, "/registry/manifest.json").strip() == "IsADirectoryError"
        assert _read_in(container, "/registry/v2/model.onnx").strip() == "FileNotFoundError"
        down.revert()
        assert json.loads(_read_in(container, "/registry/manifest.json"))["aliases"]["champion"] == "v4"
    finally:
        stack.down()
    assert not stack.settings.registry_dir.exists()
    assert tree(REPO / "fixtures", with_times=True) == fixtures

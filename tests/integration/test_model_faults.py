"""Model faults on a running local stack: its servers read the stack's own registry, never the committed fixtures."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.faults.model import CorruptArtifact, PushVersion
from harness.models.faulty import FaultyLibrary
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from harness.targets.reference import ReferenceTarget
from tests.conftest import REPO, local_binaries_available, require
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
    shutil.copy(REPO / "fixtures" / "models" / "v3" / "model.json", folder / "degraded.json")
    index = {"degraded": {"file": "degraded.json", "accuracy": 0.475, "what": "labels of digits 5-9 rotated"}}
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

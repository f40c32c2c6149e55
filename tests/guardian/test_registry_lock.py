"""Every writer of a file registry's manifest takes the same lock: the harness (model faults and their
undo), the guardian (rollbacks, promotions) and the model server's tooling. Without it, a guardian
rollback racing a fault's revert could silently undo one of the two alias changes."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from guardian.registry import update_aliases
from modelserver.registry import set_alias

from harness.models.file_registry import FileRegistry
from tests.conftest import REPO


@pytest.fixture
def registry(tmp_path: Path) -> FileRegistry:
    root = tmp_path / "registry"
    shutil.copytree(REPO / "fixtures" / "models", root)
    return FileRegistry(root)


def _blocked_while_locked(registry: FileRegistry, write: Callable[[], object]) -> None:
    """`write` waits for the harness's lock, and completes once it is released."""
    done = threading.Event()
    writer = threading.Thread(target=lambda: (write(), done.set()), daemon=True)
    with registry.locked():
        writer.start()
        time.sleep(0.3)  # ample for an unlocked write of a small JSON file
        assert not done.is_set(), "the write went through while the harness held the registry's lock"
        before = registry.aliases()
    writer.join(timeout=10)
    assert done.is_set() and registry.aliases() != before


def test_the_guardian_waits_for_the_harness(registry: FileRegistry) -> None:
    _blocked_while_locked(registry, lambda: update_aliases(registry.root, lambda aliases: {**aliases, "champion": "v1"}))


def test_the_model_server_tooling_waits_for_the_harness(registry: FileRegistry) -> None:
    _blocked_while_locked(registry, lambda: set_alias(registry.root, "champion", "v1"))


def test_a_harness_alias_change_waits_for_another_writer(registry: FileRegistry) -> None:
    other = FileRegistry(registry.root)
    _blocked_while_locked(registry, lambda: other.set_alias("champion", "v1"))

"""Shared test set-up.

Prerequisites (Docker, HAProxy, Redis, Toxiproxy): a test whose prerequisite
is missing skips on a developer's machine and fails loudly under CI=true,
where .ci/run has installed everything.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The model server is run from its own folder; make it importable for unit tests.
sys.path.insert(0, str(REPO / "compose" / "modelserver"))

IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when `condition` is false, except in CI, where a missing prerequisite is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def local_binaries_available() -> bool:
    from harness.stack.local_plan import TOOLS_BIN

    binaries = ("haproxy", "redis-server", "redis-sentinel", "redis-cli")
    toxiproxy = shutil.which("toxiproxy-server") or (TOOLS_BIN / "toxiproxy-server").exists()
    return bool(toxiproxy) and all(shutil.which(binary) for binary in binaries)


@pytest.fixture
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private FAILOVER_STATE_DIR so local-backend tests never touch a user's stacks."""
    state = tmp_path / "state"
    monkeypatch.setenv("FAILOVER_STATE_DIR", str(state))
    return state

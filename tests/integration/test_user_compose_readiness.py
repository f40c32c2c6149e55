"""A user's compose stack comes up on its own healthchecks, never on the harness's host checks.

The reference stack opts into readiness from the host (`x-readiness: host`); a user's stack
that does not is judged by Docker's health alone (harness/stack/readiness.py).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from harness.errors import StackNotHealthy
from harness.stack.base import StackSettings
from harness.stack.compose import ComposeStack
from harness.stack.images import ensure_stack_image, image_names
from tests.conftest import docker_available, require

pytestmark = pytest.mark.compose

PROJECT = "failover-test-user-ready"
HOST_ONLY_MARKER = Path("/tmp/failover-test-user-ready-marker")
"""Exists on the host, never in the container: a check of it passes only if run on the host."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def image() -> str:
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    ensure_stack_image(dict(os.environ), progress=False, client=docker.from_env())
    return image_names(os.environ)[0]


def _stack(tmp_path: Path, body: str) -> ComposeStack:
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(body)
    return ComposeStack(StackSettings(project=PROJECT, compose_file=compose_file, reference_image=False))


@pytest.fixture
def marker() -> Iterator[Path]:
    HOST_ONLY_MARKER.write_text("on the host only")
    yield HOST_ONLY_MARKER
    HOST_ONLY_MARKER.unlink(missing_ok=True)


def test_a_stack_without_healthchecks_comes_up(tmp_path: Path, image: str) -> None:
    port = _free_port()
    stack = _stack(
        tmp_path,
        f"services:\n  web:\n    image: {image}\n    command: [python3, -m, http.server, '{port}']\n"
        f"    ports: ['127.0.0.1:{port}:{port}']\n",
    )
    try:
        stack.up(timeout_s=60, progress=False)
        (web,) = stack.status()
        assert (web.state, web.health, web.ready) == ("running", "none", True)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        stack.down()


def test_a_user_healthcheck_is_judged_by_docker_not_run_on_the_host(
    tmp_path: Path, image: str, marker: Path
) -> None:
    stack = _stack(
        tmp_path,
        f"services:\n  web:\n    image: {image}\n    command: [sleep, '600']\n"
        f"    healthcheck: {{test: [CMD, test, -f, '{marker}'], interval: 1s, timeout: 1s, retries: 1}}\n",
    )
    try:
        with pytest.raises(StackNotHealthy) as raised:
            stack.up(timeout_s=8, progress=False)
        assert "web: running/unhealthy" in raised.value.message
    finally:
        stack.down()

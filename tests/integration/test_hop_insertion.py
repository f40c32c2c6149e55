"""Hop insertion on a user's Compose stack (issue 6 item 2), against real Docker and Toxiproxy.

The stack (tests/fixtures_compose/hops/) is brought up with the user's file plus
the generated override. `app` answers with the address each connection came
from, so the routing itself is observed: `lb` reaches `app` through the proxy,
`direct` reaches it straight. Run under the stack lock:
`flock /tmp/failover-stack.lock pytest tests/integration/test_hop_insertion.py`.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import yaml

from harness.faults.hop.toxic import proxy
from harness.stack.images import ensure_stack_image, image_names
from harness.stack.spec import REPO_ROOT, interpolate
from harness.targets.compose_override import TOXIPROXY_SERVICE, HopInsertion, hop_override
from tests.conftest import docker_available, require

pytestmark = [pytest.mark.integration, pytest.mark.compose]

USER_FILE = REPO_ROOT / "tests" / "fixtures_compose" / "hops" / "docker-compose.yml"
PROJECT = "failover-test-hops"
SUBNET_POOL = "10.213.192.0/24"  # apart from the default pool, so a target stack left up does not collide
LATENCY_MS = 1500


@dataclass(frozen=True)
class HopStack:
    lb_url: str
    direct_url: str
    toxiproxy_url: str
    client: docker.DockerClient
    user_folder_before: dict[str, str]

    def address_on_default(self, service: str) -> str:
        container = self.client.containers.list(
            filters={"label": [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}"]}
        )[0]
        return container.attrs["NetworkSettings"]["Networks"][f"{PROJECT}_default"]["IPAddress"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_until_answering(url: str, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {deadline_s:.0f} s")
        time.sleep(0.2)


def _checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file in the user's compose folder (nothing may be edited or added there)."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HopStack]:
    require(docker_available(), "Docker engine not reachable")
    before = _checksums(USER_FILE.parent)
    ensure_stack_image(os.environ, progress=False)
    stack_image, base_image = image_names(os.environ)
    ports = {"HOPS_LB_PORT": _free_port(), "HOPS_DIRECT_PORT": _free_port()}
    env = {**os.environ, "HOPS_IMAGE": base_image, **{key: str(value) for key, value in ports.items()}}
    compose = interpolate(yaml.safe_load(USER_FILE.read_text()), env)
    api_port = _free_port()
    override = hop_override(
        compose,
        [HopInsertion.parse("lb->app", "app:9000")],
        toxiproxy_image=stack_image,
        toxiproxy_api_port=api_port,
        subnet_pool=SUBNET_POOL,
    )
    override_file, _ = override.write(tmp_path_factory.mktemp("run"))
    command = ["docker-compose", "-p", PROJECT, "-f", str(USER_FILE), "-f", str(override_file)]
    down = [*command, "down", "-v", "--remove-orphans", "-t", "1"]
    subprocess.run(down, env=env, capture_output=True, check=False)
    try:
        subprocess.run([*command, "up", "-d"], env=env, capture_output=True, text=True, check=True)
        hop_stack = HopStack(
            lb_url=f"http://127.0.0.1:{ports['HOPS_LB_PORT']}/",
            direct_url=f"http://127.0.0.1:{ports['HOPS_DIRECT_PORT']}/",
            toxiproxy_url=f"http://127.0.0.1:{api_port}",
            client=docker.from_env(),
            user_folder_before=before,
        )
        _wait_until_answering(hop_stack.lb_url)
        _wait_until_answering(hop_stack.direct_url)
        yield hop_stack
    except subprocess.CalledProcessError as error:
        raise AssertionError(f"docker-compose up failed:\n{error.stderr}") from error
    finally:
        subprocess.run(down, env=env, capture_output=True, check=False)


@pytest.fixture
def hop(stack: HopStack) -> Iterator[str]:
    """The hop's proxy, left without toxics and enabled by each test."""
    yield "lb-app"
    found = proxy(stack.toxiproxy_url, "lb-app")
    for name in found.toxics():
        found.destroy_toxic(name)
    found.enable()


def test_the_downstream_reaches_its_upstream_through_the_proxy_and_others_directly(stack: HopStack) -> None:
    assert _get(stack.lb_url) == (200, stack.address_on_default(TOXIPROXY_SERVICE))
    assert _get(stack.direct_url) == (200, stack.address_on_default("direct"))


def test_a_latency_toxic_on_the_hop_slows_the_downstream_only(stack: HopStack, hop: str) -> None:
    proxy(stack.toxiproxy_url, hop).add_toxic("test-latency", "latency", {"latency": LATENCY_MS})
    started = time.monotonic()
    assert _get(stack.lb_url) == (200, stack.address_on_default(TOXIPROXY_SERVICE))
    assert time.monotonic() - started >= LATENCY_MS / 1000  # a lower bound the toxic guarantees
    # direct's requests never cross the proxy (app sees direct's own address), so no toxic can touch them
    assert _get(stack.direct_url) == (200, stack.address_on_default("direct"))


def test_disabling_the_proxy_cuts_the_downstream_only(stack: HopStack, hop: str) -> None:
    proxy(stack.toxiproxy_url, hop).disable()
    status, body = _get(stack.lb_url)
    assert status == 502 and "Connection refused" in body
    assert _get(stack.direct_url) == (200, stack.address_on_default("direct"))


def test_the_users_compose_folder_is_not_modified(stack: HopStack) -> None:
    """Runs last: after up, toxics and a partition, the user's files are byte for byte the same."""
    assert _checksums(USER_FILE.parent) == stack.user_folder_before

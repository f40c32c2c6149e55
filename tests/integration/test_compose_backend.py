"""The compose backend against the real Docker engine.

Skipped when Docker is unreachable, except in CI (CI=true), where that is a failure.
The full `up` runs only once the model server and the model fixtures exist.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import psutil
import pytest

from harness.errors import PortInUse, StackNotHealthy, UnknownService
from harness.faults import Fault, FaultContext, build_fault, parse_fault
from harness.stack.base import ServiceStatus, StackSettings
from harness.stack.compose import PROJECT_LABEL, ComposeStack
from harness.stack.images import CONTEXT_HASH_LABEL, ensure_stack_image, image_names
from harness.stack.spec import REPO_ROOT
from harness.targets.reference import ReferenceTarget
from tests.conftest import docker_available, require
from tests.integration.stack_checks import wait_for

pytestmark = pytest.mark.compose

PROJECT = "failover-test-compose"
FIXTURES = REPO_ROOT / "fixtures"
STACK_CODE_READY = (REPO_ROOT / "compose/modelserver/modelserver/__main__.py").exists() and (
    FIXTURES / "models/manifest.json"
).exists()


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    return docker.from_env()


@pytest.fixture(scope="module")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fixtures")
    if FIXTURES.is_dir():
        shutil.copytree(FIXTURES, target, dirs_exist_ok=True)
    return target


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(fixtures_dir: Path, **overrides: int) -> StackSettings:
    """Non-default gateway/stats/toxiproxy ports, so a stack on the defaults does not collide."""
    ports = {"gateway_port": _free_port(), "stats_port": _free_port(), "toxiproxy_port": _free_port()}
    return StackSettings(project=PROJECT, fixtures_dir=fixtures_dir, **{**ports, **overrides})


def _leftovers(client: docker.DockerClient) -> list[str]:
    filters = {"label": f"{PROJECT_LABEL}={PROJECT}"}
    return (
        [f"container {c.name}" for c in client.containers.list(all=True, filters=filters)]
        + [f"network {n.name}" for n in client.networks.list(filters=filters)]
        + [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
    )


@pytest.fixture
def stack(client: docker.DockerClient, fixtures_dir: Path) -> Iterator[ComposeStack]:
    stack = ComposeStack(_settings(fixtures_dir))
    yield stack
    stack.down()


def test_image_build_is_cached(client: docker.DockerClient) -> None:
    env = dict(os.environ)
    ensure_stack_image(env, progress=False, client=client)
    assert ensure_stack_image(env, progress=False, client=client) == 0
    image, _ = image_names(env)
    assert client.images.get(image).labels.get(CONTEXT_HASH_LABEL)


def test_down_with_nothing_up_leaves_nothing(client: docker.DockerClient, stack: ComposeStack) -> None:
    stack.down()
    assert _leftovers(client) == []
    assert {status.state for status in stack.status()} == {"missing"}


def test_port_in_use_is_named_and_nothing_starts(client: docker.DockerClient, fixtures_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = ComposeStack(_settings(fixtures_dir, gateway_port=port))
        with pytest.raises(PortInUse) as raised:
            stack.up(timeout_s=30, progress=False)
    assert f"port {port} (gateway published port)" in raised.value.message
    assert _leftovers(client) == []


def test_down_sweeps_what_compose_leaves_behind(client: docker.DockerClient, stack: ComposeStack) -> None:
    """Even when Compose itself fails, `down` removes every labelled object, paused containers too."""
    image, _ = image_names(os.environ)
    ensure_stack_image(os.environ, progress=False, client=client)
    labels = {PROJECT_LABEL: PROJECT}
    network = client.networks.create(f"{PROJECT}_leftover", labels=labels)
    client.volumes.create(f"{PROJECT}_leftover", labels=labels)
    container = client.containers.run(
        image, ["sleep", "300"], detach=True, labels=labels, network=network.name, init=True
    )
    container.pause()
    stack._compose_cmd = ("false",)  # every Compose invocation fails
    stack.down()
    assert _leftovers(client) == []


def test_unknown_service_suggests_the_close_name(stack: ComposeStack) -> None:
    with pytest.raises(UnknownService) as raised:
        stack.kill("modle-a")
    assert "did you mean 'model-a'?" in raised.value.tip
    with pytest.raises(UnknownService):
        stack.logs("gatway")


def test_failed_up_is_brought_down(client: docker.DockerClient, stack: ComposeStack) -> None:
    with pytest.raises(StackNotHealthy):
        stack.up(timeout_s=0.1, progress=False)
    assert _leftovers(client) == []


def test_interrupted_up_is_brought_down(
    client: docker.DockerClient, stack: ComposeStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("harness.stack.compose.wait_until_ready", interrupt)
    with pytest.raises(KeyboardInterrupt):
        stack.up(timeout_s=30, progress=False)
    assert _leftovers(client) == []


@pytest.fixture(scope="module")
def running(client: docker.DockerClient, fixtures_dir: Path) -> Iterator[ComposeStack]:
    require(STACK_CODE_READY, "the model server or the model fixtures are missing")
    stack = ComposeStack(_settings(fixtures_dir))
    started = time.monotonic()
    stack.up(timeout_s=120, progress=False)
    print(f"\nstack up in {time.monotonic() - started:.1f}s")
    yield stack
    stack.down()
    assert _leftovers(client) == []


def _status(stack: ComposeStack, service: str) -> ServiceStatus:
    return next(status for status in stack.status() if status.name == service)


def _state(stack: ComposeStack, service: str) -> str:
    return _status(stack, service).state


def _wait_ready(stack: ComposeStack, service: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if next(s for s in stack.status() if s.name == service).ready:
            return
        time.sleep(0.2)
    pytest.fail(f"{service} not ready after {timeout_s}s:\n{stack.logs(service)}")


def test_up_reports_every_service_ready_on_loopback(running: ComposeStack) -> None:
    statuses = running.status()
    assert [s.name for s in statuses] == list(running.spec.services)
    assert all(s.ready for s in statuses), statuses
    gateway = statuses[0]
    assert gateway.endpoints == (
        f"127.0.0.1:{running.settings.gateway_port}",
        f"127.0.0.1:{running.settings.stats_port}",
    )
    assert gateway.ref
    with socket.create_connection(("127.0.0.1", running.settings.gateway_port), timeout=2):
        pass


def test_kill_stays_down_until_started(running: ComposeStack) -> None:
    restarts = _status(running, "model-b").restarts
    running.kill("model-b")
    # Docker applies the restart policy as it handles the death: "exited" is final, a restart shows
    # as "restarting" or in the restart count.
    wait_for(
        lambda: _state(running, "model-b") != "running" or _status(running, "model-b").restarts > restarts,
        30,
        "model-b to die after the kill",
    )
    status = _status(running, "model-b")
    assert (status.state, status.restarts) == ("exited", restarts), "the restart policy brought it back"
    running.start("model-b")
    _wait_ready(running, "model-b")


def test_stop_then_start(running: ComposeStack, client: docker.DockerClient) -> None:
    running.stop("model-fallback")
    container = client.containers.get(_status(running, "model-fallback").ref)
    ended = container.attrs["State"]
    logs = container.logs(tail=15).decode(errors="replace")
    assert _state(running, "model-fallback") == "stopped", f"exit code {ended['ExitCode']}; last logs:\n{logs}"
    running.start("model-fallback")
    _wait_ready(running, "model-fallback")


def test_pause_and_unpause(running: ComposeStack) -> None:
    running.pause("redis-2")
    assert _state(running, "redis-2") == "paused"
    running.unpause("redis-2")
    assert _state(running, "redis-2") == "running"


def test_disconnect_and_reconnect_keep_dns(running: ComposeStack, client: docker.DockerClient) -> None:
    network = f"{PROJECT}_default"
    running.disconnect("model-a")
    container = client.containers.get(next(s.ref for s in running.status() if s.name == "model-a"))
    assert network not in container.attrs["NetworkSettings"]["Networks"]
    running.reconnect("model-a")
    container.reload()
    assert "model-a" in container.attrs["NetworkSettings"]["Networks"][network]["Aliases"]
    gateway = client.containers.get(next(s.ref for s in running.status() if s.name == "gateway"))
    probe = gateway.exec_run(["python", "-c", "import socket; print(socket.gethostbyname('model-a'))"])
    assert probe.exit_code == 0, probe.output


def test_restart_keeps_the_service(running: ComposeStack) -> None:
    running.restart("toxiproxy")
    _wait_ready(running, "toxiproxy")


def test_cpu_and_memory_limits_apply_to_the_running_container_and_lift(
    running: ComposeStack, client: docker.DockerClient
) -> None:
    def limits() -> tuple[int, int]:
        config = client.containers.get(_status(running, "model-b").ref).attrs["HostConfig"]
        return config["CpuQuota"], config["Memory"]

    running.limit("model-b", cpus=0.2, memory_bytes=256 * 2**20)
    assert limits() == (20_000, 256 * 2**20)
    running.unlimit("model-b")
    quota, memory = limits()
    assert quota <= 0 and (memory <= 0 or memory >= psutil.virtual_memory().total), "no limit left"
    assert _state(running, "model-b") == "running"


def _compose_fault(running: ComposeStack, **spec: object) -> Fault:
    context = FaultContext(running, running.endpoints().toxiproxy_url, zones=ReferenceTarget(running.settings).zones())
    return build_fault(parse_fault({"at": 0, **spec}), context)


def test_a_signal_ends_the_container_and_it_stays_down_until_the_revert(running: ComposeStack) -> None:
    """SIGTERM through `docker kill --signal`: the server exits and Docker counts the container as
    stopped by hand (no restart policy), as the local backend does; the revert starts it."""
    fault = _compose_fault(running, action="signal", target="model-b", signal="TERM")
    fault.inject()
    wait_for(lambda: _state(running, "model-b") != "running", 30, "model-b to end on SIGTERM")
    fault.revert()
    assert _state(running, "model-b") == "running"
    _wait_ready(running, "model-b")


def test_zone_loss_takes_down_the_zone_labelled_containers_and_only_them(running: ComposeStack) -> None:
    zone = ReferenceTarget(running.settings).zones()["zone-b"]
    assert set(zone) == {"model-b", "redis-2", "sentinel-2"}, "the reference compose file's failover.zone labels"
    fault = _compose_fault(running, action="zone_loss", target="zone-b")
    fault.inject()
    try:
        down = {s.name for s in running.status() if s.state != "running"}
        assert down == set(zone)
    finally:
        fault.revert()
    assert {s.state for s in running.status()} == {"running"}
    for service in zone:
        _wait_ready(running, service)


def test_a_dead_redis_name_still_resolves_in_the_sentinels_and_replicas(
    running: ComposeStack, client: docker.DockerClient
) -> None:
    """Docker's DNS drops a dead container's name and forwards the query upstream, where it may block
    5 s; Redis and Sentinel resolve synchronously, so they stall (TILT). compose/redis/pin_hosts.py
    keeps the last known address in /etc/hosts: the name of a killed Redis resolves, from the file."""

    def resolve(service: str, name: str) -> tuple[int, str]:
        container = client.containers.get(_status(running, service).ref)
        found = container.exec_run(["getent", "hosts", name])
        return found.exit_code, found.output.decode().split()[0] if found.exit_code == 0 else ""

    wait_for(lambda: resolve("sentinel-1", "redis-2")[0] == 0 and resolve("redis-1", "redis-2")[0] == 0, 10, "pins")
    _, address = resolve("sentinel-1", "redis-2")
    running.kill("redis-2")
    wait_for(lambda: _state(running, "redis-2") != "running", 30, "redis-2 to die after the kill")
    try:
        assert resolve("sentinel-1", "redis-2") == (0, address)
        assert resolve("redis-1", "redis-2") == (0, address)
        hosts = client.containers.get(_status(running, "sentinel-2").ref).exec_run(["cat", "/etc/hosts"]).output
        assert f"{address}\tredis-2\t# pinned by pin_hosts.py" in hosts.decode()
    finally:
        running.start("redis-2")
        _wait_ready(running, "redis-2")

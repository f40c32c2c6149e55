"""The reference stack on both backends, exercised through its real components."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from harness.errors import StackNotHealthy
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.stack import Stack, StackSettings, open_stack
from harness.targets.reference import ReferenceTarget
from tests.conftest import REPO, docker_available, local_binaries_available, require
from tests.integration.stack_checks import (
    flip_one_byte,
    haproxy_state,
    leftovers,
    wait_for,
)

pytestmark = pytest.mark.integration
PROJECT = "failover-test"


def _require_backend(backend: str) -> None:
    if backend == "compose":
        require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")


@pytest.fixture(scope="module", params=["local", "compose"])
def environment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Per backend: a private state dir and a copy of the fixtures the tests may tamper with."""
    _require_backend(request.param)
    root = tmp_path_factory.mktemp(request.param)
    fixtures = root / "fixtures"
    shutil.copytree(REPO / "fixtures", fixtures, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(root / "state"))
        yield {"backend": request.param, "root": root, "fixtures": fixtures, "state": root / "state"}


@pytest.fixture(scope="module")
def stack(environment: dict) -> Iterator[Stack]:
    settings = StackSettings(project=PROJECT, fixtures_dir=environment["fixtures"])
    stack = open_stack(environment["backend"], settings)
    ReferenceTarget(settings).bring_up(stack, progress=False, timeout_s=240)
    yield stack
    stack.down()


def _predict(stack: Stack, request_id: str) -> httpx.Response:
    payload = load_payloads()[0]
    return httpx.post(
        f"{stack.endpoints().gateway_url}/predict",
        json=payload.body(),
        headers={"X-Request-Id": request_id},
        timeout=5,
    )


def _primary(stack: Stack) -> redis.Redis:
    host, port = stack.endpoints().address("redis-1")
    return redis.Redis(host=host, port=port, socket_timeout=2)


def test_prediction_through_gateway_has_all_headers_and_is_stored(stack: Stack) -> None:
    request_id = f"test-{os.getpid()}-headers"
    response = _predict(stack, request_id)
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-Id"] == request_id
    assert response.headers["X-Served-By"] in ("model-a", "model-b")
    assert response.headers["X-Model-Version"] == "v2"
    assert response.headers["X-Degraded"] == "false"
    assert response.json()["request_id"] == request_id
    assert _primary(stack).exists(f"pred:{request_id}")


def test_killing_a_replica_under_load_fails_no_request(stack: Stack) -> None:
    entry = ReferenceTarget(stack.settings).entry
    with ProbeStream(entry, load_payloads(entry.payloads), rate=120, timeout_s=2.0) as probe:
        wait_for(lambda: len(probe.records()) > 100, 10, "load to be flowing")
        stack.kill("model-a")
        wait_for(lambda: haproxy_state(stack, "model-a") == "DOWN", 5, "HAProxy to mark model-a DOWN")
        wait_for(lambda: len(probe.records()) > 400, 10, "load after the kill")
    records = probe.stop()
    failed = [record for record in records if not record.ok]
    assert len(records) >= 400
    assert failed == []
    assert {record.served_by for record in records} == {"model-a", "model-b"}
    stack.start("model-a")
    wait_for(lambda: haproxy_state(stack, "model-a") == "UP", 60, "model-a back UP")


def test_fallback_answers_degraded_when_both_replicas_are_gone(stack: Stack) -> None:
    stack.stop("model-a")
    stack.stop("model-b")
    try:
        wait_for(
            lambda: haproxy_state(stack, "model-a") == haproxy_state(stack, "model-b") == "DOWN",
            10,
            "both replicas DOWN",
        )
        responses = [_predict(stack, f"test-{os.getpid()}-fallback-{i}") for i in range(10)]
        assert {r.status_code for r in responses} == {200}
        assert {r.headers["X-Degraded"] for r in responses} == {"true"}
        assert {r.headers["X-Served-By"] for r in responses} == {"model-fallback"}
        assert {r.headers["X-Model-Version"] for r in responses} == {"v1"}
    finally:
        stack.start("model-a")
        stack.start("model-b")
    for server in ("model-a", "model-b"):
        wait_for(lambda: haproxy_state(stack, server) == "UP", 60, f"{server} back UP")


def test_tampered_artifact_keeps_the_server_not_ready(stack: Stack, environment: dict) -> None:
    artifact = stack.settings.registry_dir / "v2" / "model.onnx"  # the stack's own registry, copied at up
    original = flip_one_byte(artifact)
    readyz = f"http://127.0.0.1:{stack.endpoints().published['model-a'][0]}/readyz"
    try:
        stack.restart("model-a")
        wait_for(lambda: _answers(readyz), 30, "model-a to answer again after restart")
        for _ in range(10):  # stays not-ready, it does not flap or crash-loop
            response = httpx.get(readyz, timeout=2)
            assert response.status_code == 503
            assert "sha256" in response.text
        wait_for(lambda: haproxy_state(stack, "model-a") == "DOWN", 5, "HAProxy to keep model-a DOWN")
        assert _predict(stack, f"test-{os.getpid()}-tamper").headers["X-Served-By"] == "model-b"
    finally:
        artifact.write_bytes(original)
        stack.restart("model-a")
    wait_for(lambda: haproxy_state(stack, "model-a") == "UP", 60, "model-a UP with the good artifact")


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_down_after_up_leaves_nothing(environment: dict, stack: Stack) -> None:
    stack.down()
    assert leftovers(stack, environment["root"] / "scratch", environment["state"]) == []
    # the module's stack, for any test after this one
    ReferenceTarget(stack.settings).bring_up(stack, progress=False, timeout_s=240)
    states = {server: haproxy_state(stack, server) for server in ("model-a", "model-b", "model-fallback")}
    assert set(states.values()) == {"UP"}, f"the target is up once the gateway routes to its whole pool: {states}"


def test_up_that_fails_half_way_leaves_nothing(environment: dict, stack: Stack) -> None:
    stack.down()
    empty = environment["root"] / "no-models"
    (empty / "requests").mkdir(parents=True)
    broken = open_stack(environment["backend"], StackSettings(project=PROJECT, fixtures_dir=empty))
    with pytest.raises(StackNotHealthy, match="model-a"):
        broken.up(timeout_s=15, progress=False)
    assert leftovers(broken, environment["root"] / "scratch", environment["state"]) == []
    broken.down()  # idempotent after a failed up
    assert leftovers(broken, environment["root"] / "scratch", environment["state"]) == []

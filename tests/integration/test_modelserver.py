"""The model server as a real process against real Redis + Sentinel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration._procs import (
    HOST,
    MODELSERVER_DIR,
    REPO,
    Proc,
    command,
    free_port,
    start_modelserver,
    start_redis,
    start_sentinel,
    wait_for,
)

pytestmark = pytest.mark.integration

MASTER = "predictions"
MODELS = REPO / "fixtures" / "models"
VALIDATION = REPO / "fixtures" / "requests" / "validation.jsonl"
FEATURES = json.loads((REPO / "fixtures" / "requests" / "predict.jsonl").read_text().splitlines()[0])["features"]
HEADERS = ("x-served-by", "x-model-version", "x-degraded", "x-request-id")
READY_TIMEOUT = 30  # a deadline for the failure message, not a measurement: a busy machine starts slowly


@dataclass
class RedisStack:
    primary_port: int
    replica_port: int
    sentinel_port: int
    primary: Proc
    sentinel: Proc

    def reported_primary(self) -> str:
        host, port = command(self.sentinel_port, "SENTINEL", "get-master-addr-by-name", MASTER)
        return f"{host}:{port}"


@dataclass
class Server:
    url: str
    proc: Proc


def start_stack(workdir: Path, request: pytest.FixtureRequest, promotable: bool = False) -> RedisStack:
    """Primary + replica + one Sentinel, stopped at teardown. Unless promotable,
    the replica can never be promoted, so no failover is possible."""
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    primary = start_redis(workdir, primary_port)
    request.addfinalizer(primary.stop)
    replica = start_redis(workdir, replica_port, replica_of=primary_port, promotable=promotable)
    request.addfinalizer(replica.stop)
    sentinel = start_sentinel(workdir, sentinel_port, primary_port, MASTER)
    request.addfinalizer(sentinel.stop)
    return RedisStack(primary_port, replica_port, sentinel_port, primary, sentinel)


def start_server(
    workdir: Path, stack: RedisStack, request: pytest.FixtureRequest, **overrides: str
) -> Server:
    port = free_port()
    primary = f"{HOST}:{stack.primary_port}"
    env = {
        "SERVER_NAME": "model-a",
        "LISTEN": f"{HOST}:{port}",
        "REGISTRY_DIR": str(MODELS),
        "VALIDATION_FILE": str(VALIDATION),
        "SENTINELS": f"{HOST}:{stack.sentinel_port}",
        "SENTINEL_MASTER": MASTER,
        "REDIS_ROUTES": f"{primary}={primary}",
        **overrides,
    }
    proc = start_modelserver(workdir, env)
    request.addfinalizer(proc.stop)
    url = f"http://{HOST}:{port}"
    proc.await_ready(lambda: httpx.get(f"{url}/healthz").status_code == 200, READY_TIMEOUT, "healthz")
    return Server(url, proc)


def wait_ready(server: Server) -> None:
    server.proc.await_ready(
        lambda: httpx.get(f"{server.url}/readyz").status_code == 200,
        READY_TIMEOUT,
        "readyz 200",
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> RedisStack:
    return start_stack(tmp_path_factory.mktemp("redis"), request)


@pytest.fixture(scope="module")
def server(stack: RedisStack, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return start_server(tmp_path_factory.mktemp("server"), stack, request)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    wait_ready(server)
    with httpx.Client(base_url=server.url, timeout=5) as http:
        yield http


def assert_serving_headers(response: httpx.Response, version: str = "v2") -> None:
    assert all(name in response.headers for name in HEADERS), response.headers
    assert response.headers["x-served-by"] == "model-a"
    assert response.headers["x-model-version"] == version
    assert response.headers["x-degraded"] == "false"


def test_becomes_ready(server: Server) -> None:
    wait_ready(server)
    body = httpx.get(f"{server.url}/readyz").json()
    assert body["ready"] is True and body["version"] == "v2"


def test_predict_is_stored_on_the_primary_before_the_answer(client: httpx.Client, stack: RedisStack) -> None:
    response = client.post("/predict", json={"features": FEATURES}, headers={"X-Request-Id": "it-predict-1"})
    assert response.status_code == 200, response.text
    assert_serving_headers(response)
    assert response.headers["x-request-id"] == "it-predict-1"
    body = response.json()
    assert body == {
        "prediction": body["prediction"],
        "model_version": "v2",
        "server": "model-a",
        "degraded": False,
        "request_id": "it-predict-1",
    }
    stored = json.loads(command(stack.primary_port, "GET", "pred:it-predict-1"))
    assert stored["prediction"] == body["prediction"]
    assert (stored["id"], stored["version"], stored["server"]) == ("it-predict-1", "v2", "model-a")
    assert abs(stored["t"] - time.time()) < 60


def test_request_id_is_generated_when_absent(client: httpx.Client) -> None:
    response = client.post("/predict", json={"features": FEATURES})
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and response.json()["request_id"] == request_id


@pytest.mark.parametrize("features", [FEATURES[:63], [*FEATURES[:63], "1"], [*FEATURES[:63], True], None])
def test_invalid_features_are_422_with_headers(client: httpx.Client, features: object) -> None:
    response = client.post("/predict", json={"features": features}, headers={"X-Request-Id": "bad"})
    assert response.status_code == 422
    assert_serving_headers(response)
    assert response.headers["x-request-id"] == "bad"


def test_version_and_metrics(client: httpx.Client) -> None:
    version = client.get("/version").json()
    assert version["version"] == "v2" and version["alias"] == "champion" and len(version["sha256"]) == 64
    metrics = client.get("/metrics")
    assert_serving_headers(metrics)
    expected = (
        'modelserver_requests_total{path="/version",status="200"}',
        'modelserver_request_duration_seconds_bucket{le="0.005",path="/version"}',
        "modelserver_store_write_failures_total 0.0",
        "modelserver_model_ready 1.0",
        'modelserver_model_info{alias="champion"',
    )
    for line in expected:
        assert line in metrics.text, line


def test_unknown_path_still_carries_headers(client: httpx.Client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert_serving_headers(response)


def test_tampered_artifact_stays_not_ready(
    stack: RedisStack, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    registry = Path(shutil.copytree(MODELS, tmp_path / "models"))
    artifact = registry / "v2" / "model.onnx"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    server = start_server(tmp_path, stack, request, REGISTRY_DIR=str(registry))

    wait_for(lambda: "sha256" in httpx.get(f"{server.url}/readyz").text, READY_TIMEOUT, "sha256 reason")
    # the same broken artifact is not retried: after its failure is logged, nothing will make the server ready
    wait_for(lambda: "; not ready" in server.proc.output(), READY_TIMEOUT, "the load failure logged")
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 503 and "sha256 mismatch" in ready.json()["reason"]
    assert ready.headers["x-model-version"] == "none"
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.post(f"{server.url}/predict", json={"features": FEATURES}).status_code == 503
    assert server.proc.popen.poll() is None
    assert server.proc.output().count("sha256 mismatch") == 1


def test_unrouted_primary_is_an_error_not_a_direct_connection(
    stack: RedisStack, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server = start_server(tmp_path, stack, request, REDIS_ROUTES=f"redis-9:1={HOST}:{stack.primary_port}")
    wait_for(lambda: "REDIS_ROUTES" in httpx.get(f"{server.url}/readyz").text, READY_TIMEOUT, "route reason")
    assert httpx.get(f"{server.url}/readyz").status_code == 503
    response = httpx.post(f"{server.url}/predict", json={"features": FEATURES}, headers={"X-Request-Id": "unrouted"})
    assert response.status_code == 503 and "REDIS_ROUTES" in response.json()["reason"]
    assert command(stack.primary_port, "EXISTS", "pred:unrouted") == 0


def test_predict_is_503_when_the_primary_is_gone(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    stack = start_stack(tmp_path / "redis", request)  # own stack: this test kills its primary
    server = start_server(tmp_path, stack, request)
    wait_ready(server)
    with httpx.Client(base_url=server.url, timeout=5) as http:
        assert http.post("/predict", json={"features": FEATURES}).status_code == 200
        stack.primary.stop()
        response = http.post("/predict", json={"features": FEATURES})
        assert response.status_code == 503, response.text
        assert_serving_headers(response)
        assert response.json()["error"] == "prediction not stored"
        wait_for(lambda: http.get("/readyz").status_code == 503, 5, "readyz 503")
        assert "modelserver_store_write_failures_total 1.0" in http.get("/metrics").text


def test_losing_the_sentinels_keeps_the_known_primary(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    stack = start_stack(tmp_path / "redis", request)  # own stack: this test kills its Sentinel
    server = start_server(tmp_path, stack, request)
    wait_ready(server)
    stack.sentinel.stop()
    # logged by the first store check that found no Sentinel (and kept the primary)
    wait_for(lambda: "no Sentinel reported primary" in server.proc.output(), READY_TIMEOUT, "a check without Sentinel")
    with httpx.Client(base_url=server.url, timeout=5) as http:
        assert http.get("/readyz").status_code == 200
        response = http.post("/predict", json={"features": FEATURES}, headers={"X-Request-Id": "no-sentinel"})
    assert response.status_code == 200, response.text
    assert command(stack.primary_port, "EXISTS", "pred:no-sentinel") == 1


def test_follows_a_sentinel_failover(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    stack = start_stack(tmp_path / "redis", request, promotable=True)
    routes = ",".join(f"{HOST}:{port}={HOST}:{port}" for port in (stack.primary_port, stack.replica_port))
    server = start_server(tmp_path, stack, request, REDIS_ROUTES=routes)
    wait_ready(server)
    new_primary = f"{HOST}:{stack.replica_port}"
    wait_for(lambda: command(stack.sentinel_port, "SENTINEL", "replicas", MASTER), 10, "Sentinel sees the replica")

    command(stack.sentinel_port, "SENTINEL", "FAILOVER", MASTER)
    wait_for(lambda: stack.reported_primary() == new_primary, 10, "Sentinel promotes the replica")
    with httpx.Client(base_url=server.url, timeout=5) as http:
        wait_for(lambda: http.get("/readyz").json()["primary"].startswith(new_primary), 2, "server follows")
        response = http.post("/predict", json={"features": FEATURES}, headers={"X-Request-Id": "after-failover"})
    assert response.status_code == 200, response.text
    assert command(stack.replica_port, "EXISTS", "pred:after-failover") == 1


def test_config_error_exits_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelserver"],
        cwd=MODELSERVER_DIR,
        env={"SERVER_NAME": "model-a", "LISTEN": "nowhere"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "LISTEN" in result.stderr and "host:port" in result.stderr

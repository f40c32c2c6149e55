"""Hot reload and malformed requests on a real model server process (real
onnxruntime, real registry files, real Redis + Sentinel)."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from modelserver.registry import set_alias

from tests.integration._procs import wait_for
from tests.integration.test_modelserver import (
    FEATURES,
    MODELS,
    READY_TIMEOUT,
    RedisStack,
    Server,
    start_server,
    start_stack,
    wait_ready,
)
from tests.registry_push import push

pytestmark = pytest.mark.integration

FAULTY = MODELS.parent / "faulty"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> RedisStack:
    return start_stack(tmp_path_factory.mktemp("redis"), request)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MODELS, tmp_path / "models"))


@pytest.fixture
def server(stack: RedisStack, registry: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Server:
    server = start_server(tmp_path, stack, request, REGISTRY_DIR=str(registry), RELOAD_INTERVAL="0.05")
    wait_ready(server)
    return server


class Hammer:
    """A client thread posting /predict back to back; records (status, version) per request."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while not self._stop.is_set():
                try:
                    response = http.post("/predict", json={"features": FEATURES})
                    self.results.append((response.status_code, response.headers.get("x-model-version", "")))
                except httpx.HTTPError as exc:
                    self.results.append((0, type(exc).__name__))

    def versions(self) -> list[str]:
        """Served versions in order, consecutive repeats collapsed."""
        collapsed: list[str] = []
        for _, version in self.results:
            if not collapsed or collapsed[-1] != version:
                collapsed.append(version)
        return collapsed

    def failures(self) -> list[tuple[int, str]]:
        return [result for result in self.results if result[0] != 200]

    @contextmanager
    def running(self) -> Iterator[Hammer]:
        self._thread.start()
        try:
            wait_for(lambda: len(self.results) >= 20, READY_TIMEOUT, "the first requests")
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=10)


def served(server: Server) -> str:
    return httpx.get(f"{server.url}/version").json()["version"]


def reload_error(server: Server) -> str | None:
    return httpx.get(f"{server.url}/readyz").json()["reload_error"]


def test_hot_swap_under_load_fails_no_request_and_never_goes_back(server: Server, registry: Path) -> None:
    with Hammer(server.url).running() as hammer:
        set_alias(registry, "champion", "v1")
        wait_for(lambda: served(server) == "v1", READY_TIMEOUT, "the swap to v1")
        count = len(hammer.results)
        wait_for(lambda: len(hammer.results) >= count + 20, READY_TIMEOUT, "requests after the swap")
    assert hammer.failures() == []
    assert hammer.versions() == ["v2", "v1"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'model_reloads_total{outcome="ok"} 2.0' in metrics


def test_corrupted_then_partial_copy_keeps_serving_until_the_copy_completes(server: Server, registry: Path) -> None:
    full = (MODELS / "v1" / "model.onnx").read_bytes()
    corrupted = bytearray(full[:-100])
    corrupted[len(corrupted) // 2] ^= 0x08  # a flipped bit among the weights, truncated, and a wrong checksum
    with Hammer(server.url).running() as hammer:
        push(registry, "v4", bytes(corrupted), 0.905, sha256="f" * 64)
        set_alias(registry, "champion", "v4")
        wait_for(lambda: "v4 failed" in (reload_error(server) or ""), READY_TIMEOUT, "the corrupted v4 refused")
        path = push(registry, "v5", full[:1000], 0.905, sha256=hashlib.sha256(full).hexdigest())
        set_alias(registry, "champion", "v5")
        wait_for(lambda: "v5 failed" in (reload_error(server) or ""), READY_TIMEOUT, "the partial v5 refused")
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200 and ready.json()["version"] == "v2"
        assert "sha256 mismatch" in ready.json()["reload_error"]
        with path.open("ab") as out:  # the copy completes
            out.write(full[1000:])
        wait_for(lambda: served(server) == "v5", READY_TIMEOUT, "the completed v5 served")
    assert hammer.failures() == []
    assert hammer.versions() == ["v2", "v5"]
    assert reload_error(server) is None
    assert 'model_reloads_total{outcome="failed"} 2.0' in httpx.get(f"{server.url}/metrics").text


@pytest.mark.parametrize(
    ("fault", "reason"), [("crash-on-load", "not a registered function/op"), ("nan", "non-finite")]
)
def test_crash_on_load_and_nan_pushes_are_refused(server: Server, registry: Path, fault: str, reason: str) -> None:
    push(registry, "v4", (FAULTY / f"{fault}.onnx").read_bytes(), 0.98)
    set_alias(registry, "champion", "v4")
    wait_for(lambda: reason in (reload_error(server) or ""), READY_TIMEOUT, f"the {fault} artifact refused")
    response = httpx.post(f"{server.url}/predict", json={"features": FEATURES})
    assert response.status_code == 200 and response.headers["x-model-version"] == "v2"


def test_canary_alias_wins_while_set(
    stack: RedisStack, registry: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server = start_server(
        tmp_path, stack, request, REGISTRY_DIR=str(registry), MODEL_ALIAS="canary,champion", RELOAD_INTERVAL="0.05"
    )
    wait_ready(server)
    set_alias(registry, "canary", "v3")
    wait_for(lambda: served(server) == "v3", READY_TIMEOUT, "the canary served")
    set_alias(registry, "canary", None)
    wait_for(lambda: served(server) == "v2", READY_TIMEOUT, "back on the champion")


MALFORMED = {
    "invalid json": (b'{"features": [1, 2', 400),
    "empty body": (b"", 400),
    "NaN literal": (b'{"features": [NaN' + b", 0" * 63 + b"]}", 400),
    "Infinity literal": (b'{"features": [Infinity' + b", 0" * 63 + b"]}", 400),
    "huge number overflows to inf": (b'{"features": [1e999' + b", 0" * 63 + b"]}", 422),
    "not an object": (b"[1, 2, 3]", 422),
    "missing features": (b'{"x": 1}', 422),
    "63 features": (b'{"features": [0' + b", 0" * 62 + b"]}", 422),
    "65 features": (b'{"features": [0' + b", 0" * 64 + b"]}", 422),
    "a string": (b'{"features": ["1"' + b", 0" * 63 + b"]}", 422),
    "not utf-8": (b'{"features": "\xff\xfe"}', 400),
    "huge body": (b'{"features": [' + b"0, " * 100_000 + b"0]}", 413),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_requests_get_4xx_with_a_message(server: Server, name: str) -> None:
    body, status = MALFORMED[name]
    response = httpx.post(f"{server.url}/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["reason"]
    assert response.headers["x-model-version"] == "v2"
    assert httpx.post(f"{server.url}/predict", json={"features": FEATURES}).status_code == 200


def test_a_chunked_huge_body_is_413(server: Server) -> None:
    chunks = (b"0, " * 10_000 for _ in range(10))
    response = httpx.post(f"{server.url}/predict", content=chunks)
    assert response.status_code == 413 and "limit" in response.json()["reason"]


def test_an_overloaded_server_sheds_fast_and_recovers_at_once_after_a_swap(
    stack: RedisStack, registry: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A slow model under more load than it can serve: requests beyond the slots get a quick 503 (the
    gateway retries elsewhere) instead of a queue nobody waits for; once the fast model is back, the
    next request is served by it at once, not behind a backlog of slow ones."""
    server = start_server(
        tmp_path, stack, request, REGISTRY_DIR=str(registry), RELOAD_INTERVAL="0.05", MAX_INFERENCES="1", QUEUE_WAIT="0.2"
    )
    wait_ready(server)
    push(registry, "v4", (FAULTY / "slow.onnx").read_bytes(), 0.98)
    set_alias(registry, "champion", "v4")
    wait_for(lambda: served(server) == "v4", READY_TIMEOUT, "the slow model served")

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/predict", json={"features": FEATURES}, timeout=10)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(post, range(12)))
    shed = [a for a in answers if a.status_code == 503]
    assert shed and all(a.json()["error"] == "overloaded" for a in shed)
    assert any(a.status_code == 200 for a in answers)
    set_alias(registry, "champion", "v2")
    wait_for(lambda: served(server) == "v2", READY_TIMEOUT, "the fast model back")
    assert post(0).headers["x-model-version"] == "v2"

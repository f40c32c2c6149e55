"""The shop-ml stack (tests/stacks/shop-ml) on its own, before the harness is pointed at it.

It is the "second stack of a different shape" of issue 6: nginx in front of two
replicas of a stdlib-HTTP model server that commit every prediction to
PostgreSQL. These tests check that the stack does what its README says, so
that a harness test failing against it points at the harness. The stack tests
bring it up with docker-compose under project `failover-shopml-test`; run them
under the machine lock: `flock /tmp/failover-stack.lock pytest -k shop_ml -s`
(`-s` shows the build and cold-start figures).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import docker
import pytest
from docker.models.containers import Container
import yaml

from tests.conftest import REPO, docker_available, require

STACK = REPO / "tests" / "stacks" / "shop-ml"
PROJECT = "failover-shopml-test"
SERVICES = ("lb", "app-1", "app-2", "db")
ENTRY = "http://127.0.0.1:8088/v1/score"
APP_2 = "http://127.0.0.1:9102"
HEALTHY_WITHIN_S = 120.0

@dataclass(frozen=True)
class Answer:
    request_id: str
    status: int
    upstream: str | None
    body: dict[str, Any]
    headers: dict[str, str]


def _model() -> ModuleType:
    """The stack's model module, loaded from its file (the stack is not a package of this project)."""
    spec = importlib.util.spec_from_file_location("shop_model", STACK / "app" / "shop" / "model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _payloads() -> list[dict[str, Any]]:
    lines = (STACK / "payloads.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_payload_labels_are_the_models_answers() -> None:
    model = _model()
    payloads = _payloads()
    assert len(payloads) >= 200
    assert {p["label"] for p in payloads} == {0, 1, 2}
    assert [model.predict(model.parse_inputs(p["body"])) for p in payloads] == [p["label"] for p in payloads]


def test_target_file_names_only_what_the_compose_file_declares() -> None:
    target = yaml.safe_load((STACK / "shop-ml.target.yaml").read_text())
    compose = yaml.safe_load((STACK / target["compose_file"]).read_text())
    declared = set(compose["services"])
    assert (STACK / target["entry"]["payloads"]).is_file()
    assert set(target["services"]) <= declared
    for hop, spec in target["hops"].items():
        downstream, upstream = hop.split("->")
        assert {downstream, upstream} <= declared, hop
        host, _, port = spec["upstream"].rpartition(":")
        assert host == upstream and port.isdigit(), hop
    assert set(target["signals"]) <= declared


# --- the running stack -----------------------------------------------------------------------


def _compose_cli() -> list[str] | None:
    """docker-compose v1 (what Debian ships), else the `docker compose` v2 plugin."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return ["docker", "compose"] if probe.returncode == 0 else None


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


class ShopStack:
    """The stack under project PROJECT, driven through the compose CLI; containers through the Docker API."""

    def __init__(self, cli: list[str], client: docker.DockerClient) -> None:
        self.compose = [*cli, "-p", PROJECT, "-f", str(STACK / "docker-compose.yml")]
        self.client = client

    def setup(self) -> str:
        """Stage the wheels for the offline build; the script's output (empty when they are cached)."""
        return _run(["bash", str(STACK / "setup.sh")], env={**os.environ, "PYTHON": sys.executable}).strip()

    def build(self) -> float:
        started = time.monotonic()
        _run([*self.compose, "build"])
        return time.monotonic() - started

    def up(self) -> float:
        started = time.monotonic()
        _run([*self.compose, "up", "-d", "--build"])
        return time.monotonic() - started

    def down(self) -> None:
        _run([*self.compose, "down", "-v"])

    def container(self, service: str) -> Container:
        filters = {"label": [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}"]}
        containers = self.client.containers.list(all=True, filters=filters)
        assert len(containers) == 1, f"{service}: {len(containers)} containers"
        return containers[0]

    def wait_healthy(self, services: tuple[str, ...] = SERVICES) -> float:
        """Seconds until the services' healthchecks pass; fails with their states after HEALTHY_WITHIN_S."""
        started = time.monotonic()
        while time.monotonic() - started < HEALTHY_WITHIN_S:
            states = {service: self._health(service) for service in services}
            if all(state == "healthy" for state in states.values()):
                return time.monotonic() - started
            time.sleep(0.5)
        pytest.fail(f"not healthy within {HEALTHY_WITHIN_S:.0f} s: {states}\n{_run([*self.compose, 'logs', '--tail=20'])}")

    def _health(self, service: str) -> str:
        container = self.container(service)
        container.reload()
        return container.attrs["State"].get("Health", {}).get("Status", container.status)

    def stored_request_ids(self) -> set[str]:
        """Every request_id in PostgreSQL's `predictions`, read inside the db container with psql."""
        exit_code, output = self.container("db").exec_run(
            ["psql", "-h", "127.0.0.1", "-U", "shop", "-d", "shop", "-tAc", "select request_id from predictions"],
            environment={"PGPASSWORD": "shop"},
        )
        assert exit_code == 0, output.decode()
        return set(output.decode().split())


def score(body: dict[str, Any], url: str = ENTRY) -> Answer:
    """POST one body (to the entry unless told) with a fresh X-Request-Id."""
    request_id = uuid.uuid4().hex
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Request-Id": request_id},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    parsed = json.loads(raw) if headers.get("Content-Type") == "application/json" else {}
    return Answer(request_id, status, headers.get("X-Upstream"), parsed, headers)


@pytest.fixture(scope="module")
def stack() -> Iterator[ShopStack]:
    require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    cli = _compose_cli()
    require(cli is not None, "neither docker-compose nor `docker compose` is installed")
    assert cli is not None
    shop = ShopStack(cli, docker.from_env())
    shop.down()  # a previous run that was interrupted
    shop.setup()
    build_s = shop.build()
    up_s = shop.up()
    healthy_s = shop.wait_healthy()
    print(f"\nshop-ml: image build {build_s:.1f} s; cold start (build cached) up {up_s:.1f} s + healthy {healthy_s:.1f} s")
    try:
        yield shop
    finally:
        shop.down()


@pytest.mark.integration
@pytest.mark.compose
def test_scores_through_nginx_on_both_replicas_and_stores_every_answer(stack: ShopStack) -> None:
    payloads = _payloads()[:50]
    answers = [score(p["body"]) for p in payloads]

    assert [a.status for a in answers] == [200] * 50
    assert [a.body["score"] for a in answers] == [p["label"] for p in payloads]
    assert {a.body["model"] for a in answers} == {"shop-v1"}
    assert all(a.headers["X-Request-Id"] == a.request_id for a in answers)
    assert all(a.headers["X-Served-By"] == a.upstream for a in answers)
    assert {a.upstream for a in answers} == {"app-1", "app-2"}
    assert {a.request_id for a in answers} <= stack.stored_request_ids()


@pytest.mark.integration
@pytest.mark.compose
def test_nginx_keeps_answering_when_a_replica_is_killed(stack: ShopStack) -> None:
    body = _payloads()[0]["body"]
    assert score(body).status == 200
    stack.container("app-1").kill()
    killed = time.monotonic()

    answers, latencies = [], []
    while time.monotonic() - killed < 3.0:  # past nginx's fail_timeout (2 s): app-1 is retried and skipped again
        sent = time.monotonic()
        answers.append(score(body))
        latencies.append(time.monotonic() - sent)
        time.sleep(0.05)

    assert [a.status for a in answers] == [200] * len(answers)
    assert {a.upstream for a in answers} == {"app-2"}
    assert {a.request_id for a in answers} <= stack.stored_request_ids()
    print(f"\nafter killing app-1: {len(answers)} requests, all 200; slowest {max(latencies) * 1000:.0f} ms")


@pytest.mark.integration
@pytest.mark.compose
def test_a_replica_answers_503_while_its_database_is_down_and_recovers_after(stack: ShopStack) -> None:
    body = _payloads()[0]["body"]
    with ThreadPoolExecutor(max_workers=8) as pool:  # concurrent: the replica pools several connections
        assert {a.status for a in pool.map(lambda _: score(body, f"{APP_2}/v1/score"), range(32))} == {200}
    stack.container("db").kill()

    assert score(body, f"{APP_2}/v1/score").status == 503
    assert _status(f"{APP_2}/ping") == 503

    stack.container("db").start()
    stack.wait_healthy(("db",))
    answers = [score(body, f"{APP_2}/v1/score") for _ in range(8)]  # its pooled connections died with the database
    assert [a.status for a in answers] == [200] * 8
    assert _status(f"{APP_2}/ping") == 200
    assert {a.request_id for a in answers} <= stack.stored_request_ids()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.integration
@pytest.mark.compose
def test_second_build_downloads_nothing_and_reuses_the_image(stack: ShopStack) -> None:
    image = stack.client.images.get("shop-ml:local").id
    assert stack.setup() == ""
    stack.build()
    assert stack.client.images.get("shop-ml:local").id == image

"""A replica SIGKILLed while requests are in flight on it costs no client request.

Each kill is aimed at the worst instant: model-a kills itself right after the
write that starts its response to a marked request (inflight_kill_hook/). With
uvicorn's two writes per response that left the headers at the gateway and
the body nowhere: HAProxy had forwarded the headers, could not retry, and the
client got a broken response. Meanwhile a probe stream keeps other requests in
flight on model-a (its store hop is slowed down so that they wait there), so
each kill also cuts requests that have no response at all yet, which the
gateway must retry on model-b.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.faults.hop.toxic import proxy
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.stack import Stack, StackSettings, open_stack
from harness.targets.reference import ReferenceTarget
from tests.conftest import REPO, local_binaries_available, require
from tests.integration.stack_checks import haproxy_state, wait_for

pytestmark = pytest.mark.integration

KILLS = 5
MARK = "kill-after-write-"
HOOK_DIR = Path(__file__).resolve().parent / "inflight_kill_hook"
STORE_LATENCY_MS = 50
"""Every model-a request waits this long on its store write: requests are in flight on it at each kill."""


@pytest.fixture
def stack(isolated_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HOOK_DIR), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAILOVER_TEST_KILL_SERVER", "model-a")
    monkeypatch.setenv("FAILOVER_TEST_KILL_MARK", MARK)
    stack = open_stack("local", StackSettings(project="failover-inflight", fixtures_dir=REPO / "fixtures"))
    ReferenceTarget(stack.settings).bring_up(stack, progress=False, timeout_s=240)
    yield stack
    stack.down()


def _predict(client: httpx.Client, request_id: str) -> tuple[str, str]:
    """(served_by, error) of one marked request; error is "" for a complete 200 with a prediction."""
    try:
        response = client.post("/predict", json=load_payloads()[0].body(), headers={"X-Request-Id": request_id})
        prediction = response.json().get("prediction")
    except (httpx.HTTPError, ValueError) as error:
        return "", f"{type(error).__name__}: {error}"
    served_by = response.headers.get("X-Served-By", "")
    if response.status_code != 200 or not isinstance(prediction, int):
        return served_by, f"{response.status_code}: {response.text[:100]}"
    return served_by, ""


def _kill_model_a_mid_response(stack: Stack, kill: int) -> list[str]:
    """Marked requests until one reaches model-a (which dies right after its first write); their errors."""
    errors = []
    with httpx.Client(base_url=stack.endpoints().gateway_url, timeout=5) as client:
        for attempt in range(10):
            served_by, error = _predict(client, f"{MARK}{kill}-{attempt}")
            errors += [f"kill {kill}, request {attempt}: {error}"] if error else []
            if error or served_by == "model-a":
                return errors
    raise AssertionError(f"kill {kill}: 10 requests through the gateway and none reached model-a")


def _requests_resent_from(stack: Stack, server: str) -> int:
    """How many requests HAProxy retried or redispatched after `server` failed them (stats wretr + wredis)."""
    response = httpx.get(f"{stack.endpoints().stats_url}/stats;csv;norefresh", timeout=2)
    for row in csv.DictReader(io.StringIO(response.text.lstrip("# "))):
        if row["pxname"] == "models" and row["svname"] == server:
            return int(row["wretr"] or 0) + int(row["wredis"] or 0)
    raise AssertionError(f"HAProxy stats have no server {server}")


def test_a_replica_killed_with_requests_in_flight_fails_no_request(stack: Stack) -> None:
    proxy(stack.endpoints().toxiproxy_url, "model-a-redis-1").add_toxic(
        "inflight-kill", "latency", {"latency": STORE_LATENCY_MS}
    )
    marked_errors: list[str] = []
    entry = ReferenceTarget(stack.settings).entry
    with ProbeStream(entry, load_payloads(entry.payloads), rate=100, timeout_s=2.0) as probe:
        for kill in range(KILLS):
            wait_for(lambda: haproxy_state(stack, "model-a") == "UP", 60, "model-a UP")
            marked_errors += _kill_model_a_mid_response(stack, kill)
            wait_for(lambda: haproxy_state(stack, "model-a") == "DOWN", 5, "HAProxy to mark model-a DOWN")
            stack.start("model-a")
        wait_for(lambda: haproxy_state(stack, "model-a") == "UP", 60, "model-a UP")
    records = probe.stop()
    failed = [f"{record.status} {record.error}" for record in records if not record.ok]
    assert marked_errors == [], "a request cut by the kill reached the client broken"
    assert failed == [], f"{len(failed)} of {len(records)} probe requests failed across {KILLS} kills"
    assert {record.served_by for record in records} == {"model-a", "model-b"}
    assert _requests_resent_from(stack, "model-a") > 0, "no kill cut a request in flight: the test proved nothing"

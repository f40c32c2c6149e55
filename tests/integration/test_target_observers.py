"""A target's own names reach the watchers, the lost-write checkers and the load, against real servers.

A small HTTP service of a different shape than the reference stack (`POST
/v1/score`, `{"score": n}`, `X-Upstream`) stands in for a user's stack; Redis
is a real redis-server and Sentinel a real redis-sentinel.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from harness.load.entry import EntryPoint
from harness.load.locust_run import LocustRun
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.observe import signals
from harness.observe.sources import Signal, Store
from harness.observe.stores import checker_for
from tests.integration._procs import (
    HOST,
    free_port,
    start_redis,
    start_sentinel,
    wait_for,
)

pytestmark = pytest.mark.integration


class ScoringService:
    """`POST /v1/score` answers {"score": sum(inputs) % 3}; `GET /ping` is its health; stored ids are readable."""

    def __init__(self) -> None:
        self.healthy = True
        self.stored: set[str] = set()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/ping":
                    self._reply(200 if service.healthy else 503, b"{}")
                elif self.path.startswith("/predictions/"):
                    self._reply(200 if self.path.rsplit("/", 1)[1] in service.stored else 404, b"{}")
                else:
                    self._reply(404, b"{}")

            def do_PUT(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                service.stored.add(self.headers["X-Trace"])
                self._reply(200, json.dumps({"score": int(sum(body["inputs"])) % 3}).encode(), upstream="app-1")

            def _reply(self, status: int, content: bytes, upstream: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                if upstream:
                    self.send_header("X-Upstream", upstream)
                    self.send_header("X-Trace", self.headers["X-Trace"])
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer((HOST, free_port()), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service() -> Iterator[ScoringService]:
    running = ScoringService()
    yield running
    running.close()


@pytest.fixture
def entry(service: ScoringService, tmp_path: Path) -> EntryPoint:
    payloads = tmp_path / "payloads.jsonl"
    payloads.write_text("".join(json.dumps({"body": {"inputs": [i, 1]}, "label": (i + 1) % 3}) + "\n" for i in range(30)))
    return EntryPoint(
        url=f"{service.url}/v1/score", payloads=payloads, method="PUT", prediction="score",
        request_id_header="X-Trace", served_by_header="X-Upstream",
    )


def test_probes_call_the_targets_entry_with_its_method_headers_and_prediction(entry: EntryPoint, service: ScoringService) -> None:
    with ProbeStream(entry, load_payloads(entry.payloads), rate=50, timeout_s=1.0) as stream:
        wait_for(lambda: len(stream.records()) >= 20, 10, "20 probe records")
    records = stream.stop()
    assert all(r.ok and r.served_by == "app-1" and r.prediction == r.label for r in records), records[:3]
    assert {r.request_id for r in records} <= service.stored, "the request id went out in the target's header"


def test_locust_calls_the_targets_entry_too(entry: EntryPoint, service: ScoringService, tmp_path: Path) -> None:
    with LocustRun(entry, tmp_path / "locust", users=2, rate=20, timeout_s=1.0) as run:
        wait_for(lambda: len(run.records()) >= 10, 20, "10 Locust records")
    records = run.records()
    assert records and all(r["ok"] and r["served_by"] == "app-1" for r in records), records[:3]
    assert all(r["prediction"] == r["label"] for r in records)


def test_an_http_signal_records_down_and_up_again(service: ScoringService) -> None:
    (watch,) = signals.watchers({"app-1": Signal(http=f"{service.url}/ping")})
    with watch:
        wait_for(lambda: _states(watch) == ["UP"], 5, "first reading UP")
        service.healthy = False
        wait_for(lambda: _states(watch)[-1:] == ["DOWN (HTTP 503)"], 5, "DOWN seen")
        service.healthy = True
        wait_for(lambda: _states(watch)[-1:] == ["UP"], 5, "UP again")
    assert _states(watch) == ["UP", "DOWN (HTTP 503)", "UP"], "only changes are recorded"
    assert signals.current_states({"app-1": Signal(http=f"{service.url}/ping")}) == {"app-1": "UP"}


def _states(watch: signals.StateWatch) -> list[str]:
    return [str(row["state"]) for row in watch.rows()]


def test_the_http_store_reports_exactly_the_missing_ids(service: ScoringService) -> None:
    service.stored.update({"a", "b"})
    checker = checker_for(Store.model_validate({"http": {"url": f"{service.url}/predictions/{{request_id}}"}}))
    assert checker.missing(["a", "b", "c", "d"]) == {"c", "d"}


def test_read_back_sees_writes_deleted_behind_its_back_by_id(tmp_path: Path) -> None:
    """Issue 7: nothing proved the read-back can see a loss. Keys deleted from the primary are reported lost."""
    port = free_port()
    primary = start_redis(tmp_path, port)
    sentinel_port = free_port()
    sentinel = start_sentinel(tmp_path, sentinel_port, port, "shop")
    try:
        client = redis.Redis(host=HOST, port=port)
        ids = [f"id-{n}" for n in range(500)]
        client.mset({f"p:{rid}": "1" for rid in ids})
        deleted = set(ids[::37])
        client.delete(*(f"p:{rid}" for rid in deleted))
        direct = Store.model_validate({"redis": {"url": f"redis://{HOST}:{port}/0", "key": "p:{request_id}"}})
        through_sentinel = Store.model_validate(
            {"sentinel": {"sentinels": [f"{HOST}:{sentinel_port}"], "master": "shop", "key": "p:{request_id}"}}
        )
        assert checker_for(direct).missing(ids) == deleted
        assert checker_for(through_sentinel).missing(ids) == deleted
    finally:
        sentinel.stop()
        primary.stop()


def test_a_sentinel_signal_names_the_server_by_its_announced_port(tmp_path: Path) -> None:
    port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    primary = start_redis(tmp_path, port)
    replica = start_redis(tmp_path, replica_port, replica_of=port)
    sentinel = start_sentinel(tmp_path, sentinel_port, port, "shop")
    redis.Redis(host=HOST, port=sentinel_port).execute_command("SENTINEL", "SET", "shop", "down-after-milliseconds", "300")
    source = {"sentinels": [f"{HOST}:{sentinel_port}"], "master": "shop"}
    declared = {
        "store-a": Signal.model_validate({"sentinel": {**source, "port": port}}),
        "store-b": Signal.model_validate({"sentinel": {**source, "port": replica_port}}),
    }
    (watch,) = signals.watchers(declared)
    try:
        with watch:
            primary.stop()  # the watch has subscribed: entering it waits for that
            wait_for(lambda: ("store-a", "DOWN") in _changes(watch), 10, "the Sentinel's +odown on store-a")
    finally:
        for proc in (sentinel, replica, primary):
            proc.stop()
    assert all(server in ("store-a", "store-b") for server, _ in _changes(watch))


def _changes(watch: signals.StateWatch) -> list[tuple[str, str]]:
    return [(str(row["server"]), str(row["state"])) for row in watch.rows()]

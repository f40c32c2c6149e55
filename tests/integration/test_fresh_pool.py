"""Probes never reuse a keep-alive connection idle long enough for the server to be closing it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.load import fresh_pool
from harness.load.entry import EntryPoint
from harness.load.payloads import Payload
from harness.load.probe import PredictionClient
from tests.integration._procs import HOST

pytestmark = pytest.mark.integration


class CountingServer(ThreadingHTTPServer):
    """Answers every POST with a prediction over HTTP/1.1 keep-alive; counts the connections it accepted."""

    connections = 0

    def process_request(self, request: object, client_address: object) -> None:
        type(self).connections += 1
        super().process_request(request, client_address)  # type: ignore[arg-type]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"prediction": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    CountingServer.connections = 0
    running = CountingServer((HOST, 0), Handler)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()
    running.server_close()


def _two_requests_apart(server: CountingServer, idle_s: float) -> int:
    url = f"http://{HOST}:{server.server_address[1]}/predict"
    client = PredictionClient(EntryPoint(url=url, payloads=Path("unused"), prediction="prediction"), timeout_s=2.0)
    payload = Payload(b'{"x": 1}', 1)
    try:
        assert client.send(payload).ok
        time.sleep(idle_s)  # the idle time under test, not a synchronisation
        assert client.send(payload).ok
    finally:
        client.close()
    return server.connections


def test_a_connection_idle_past_the_limit_is_replaced(server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fresh_pool, "MAX_IDLE_S", 0.2)
    assert _two_requests_apart(server, idle_s=0.3) == 2


def test_a_connection_used_again_soon_is_kept(server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fresh_pool, "MAX_IDLE_S", 5.0)
    assert _two_requests_apart(server, idle_s=0.0) == 1

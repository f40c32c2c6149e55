"""Every toxic, built from its timeline declaration, measured on a real connection through a real
toxiproxy-server, and gone after its revert (the issue's floor: latency, bandwidth within 20%,
a reset seen by the client, data cut after N bytes).

The upstream is a tiny TCP server: a client sends `N\\n` and gets N bytes back, then the close.
Bounds are wide lower bounds of the effect, not timings of the machine.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness.faults import FaultContext, build_fault, parse_fault
from harness.faults.hop.toxic import toxiproxy_api
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.integration._procs import free_port
from tests.integration.test_toxiproxy_faults import HOP, toxiproxy  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


class _Sender(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        request = b""
        while not request.endswith(b"\n"):
            chunk = self.request.recv(64)
            if not chunk:
                return
            request += chunk
        self.request.sendall(b"x" * int(request))


@dataclass
class Received:
    data: bytes
    first_byte_s: float
    total_s: float
    pieces: int
    close_after_last_s: float
    error: OSError | None


@pytest.fixture
def hop(toxiproxy: tuple[str, object]) -> Iterator[tuple[str, int]]:  # noqa: F811
    """(Toxiproxy API URL, the port of HOP, which leads to the sender)."""
    url, _ = toxiproxy
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Sender)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = toxiproxy_api(url)
    api.get_proxy(HOP).destroy()
    listen = free_port()
    api.create(upstream=f"127.0.0.1:{server.server_address[1]}", name=HOP, listen=f"127.0.0.1:{listen}")
    yield url, listen
    server.shutdown()


def _fetch(port: int, size: int) -> Received:
    started = time.monotonic()
    data, pieces, first, last, error = b"", 0, None, started, None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"{size}\n".encode())
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError as raised:
                error = raised
                break
            now = time.monotonic()
            if not chunk:
                break
            first = first or now
            data, pieces, last = data + chunk, pieces + 1, now
    ended = time.monotonic()
    first_byte = (first or ended) - started
    return Received(data, first_byte, ended - started, pieces, ended - last, error)


def _inject(url: str, action: str, **parameters: object) -> object:
    spec = parse_fault({"at": 0, "action": action, "target": HOP, **parameters})
    fault = build_fault(spec, FaultContext(LocalStack(StackSettings()), url))
    fault.inject()
    return fault


def _reverted(url: str, fault: object, port: int) -> None:
    fault.revert()  # type: ignore[attr-defined]
    assert toxiproxy_api(url).get_proxy(HOP).toxics() == {}
    again = _fetch(port, 1000)
    assert (again.data, again.error) == (b"x" * 1000, None), "the connection is not back to normal"


def test_latency_on_each_stream(hop: tuple[str, int]) -> None:
    url, port = hop
    for stream in ("downstream", "upstream"):
        fault = _inject(url, "latency", latency="400ms", stream=stream)
        assert _fetch(port, 100).first_byte_s >= 0.4, stream
        _reverted(url, fault, port)


def test_bandwidth_within_20_percent(hop: tuple[str, int]) -> None:
    url, port = hop
    fault = _inject(url, "bandwidth", rate=64)
    got = _fetch(port, 96 * 1024)
    rate_kb_s = len(got.data) / 1024 / got.total_s
    assert len(got.data) == 96 * 1024
    assert 0.8 * 64 <= rate_kb_s <= 1.2 * 64, f"{rate_kb_s:.1f} KB/s for a 64 KB/s toxic"
    _reverted(url, fault, port)


def test_reset_peer_is_seen_by_the_client(hop: tuple[str, int]) -> None:
    url, port = hop
    fault = _inject(url, "reset_peer", timeout="0s")
    got = _fetch(port, 1000)
    assert isinstance(got.error, ConnectionResetError) or (got.data == b"" and got.error is None), got
    _reverted(url, fault, port)


def test_limit_data_cuts_after_n_bytes(hop: tuple[str, int]) -> None:
    url, port = hop
    fault = _inject(url, "limit_data", bytes=1000)
    assert len(_fetch(port, 50_000).data) == 1000
    _reverted(url, fault, port)


def test_slow_close_holds_the_close(hop: tuple[str, int]) -> None:
    url, port = hop
    fault = _inject(url, "slow_close", delay="600ms")
    got = _fetch(port, 1000)
    assert got.data == b"x" * 1000
    assert got.total_s >= 0.6, got
    _reverted(url, fault, port)


def test_slicer_fragments_the_stream(hop: tuple[str, int]) -> None:
    url, port = hop
    whole = _fetch(port, 4000).pieces
    fault = _inject(url, "slicer", average_size=16, size_variation=4, delay="1ms")
    sliced = _fetch(port, 4000)
    assert sliced.data == b"x" * 4000
    assert sliced.pieces >= 10 * whole, (whole, sliced.pieces)
    _reverted(url, fault, port)


def test_timeout_swallows_every_byte_until_reverted(hop: tuple[str, int]) -> None:
    url, port = hop
    fault = _inject(url, "timeout", timeout="0s")
    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
        conn.sendall(b"100\n")
        try:
            received = conn.recv(100)  # the sender's close still gets through: b""
        except TimeoutError:
            received = b""
    assert received == b""
    _reverted(url, fault, port)


def test_toxicity_zero_spares_every_connection(hop: tuple[str, int]) -> None:
    url, port = hop
    fault = _inject(url, "latency", latency="3s", toxicity="0%")
    assert _fetch(port, 100).first_byte_s < 3
    _reverted(url, fault, port)

"""Toxiproxy faults against a real toxiproxy-server (.tools/bin): a leftover toxic is replaced, and a
paused server makes a revert fail with a clear error instead of hanging forever."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import InfrastructureError
from harness.faults.hop.toxic import Toxic, toxiproxy_api
from harness.stack.images import find_toxiproxy_server
from tests.conftest import require
from tests.integration._procs import free_port, wait_for

pytestmark = pytest.mark.integration
HOP = "gateway-model-a"


@pytest.fixture
def toxiproxy() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private toxiproxy-server on a free port with one proxy, HOP; yields (API URL, process)."""
    try:
        binary: Path = find_toxiproxy_server(os.environ)
    except InfrastructureError:
        binary = Path("/nonexistent")
    require(binary.exists(), "toxiproxy-server missing (run: make setup)")
    port = free_port()
    server = subprocess.Popen(
        [str(binary), "-host", "127.0.0.1", "-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), 10, "toxiproxy-server API")
        toxiproxy_api(url).create(upstream="127.0.0.1:9", name=HOP, listen=f"127.0.0.1:{free_port()}")
        yield url, server
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.kill()
        server.wait()


def _answers(url: str) -> bool:
    try:
        return toxiproxy_api(url).proxies() == {}
    except InfrastructureError:
        return False


def test_a_toxic_left_by_a_crashed_run_is_replaced_not_a_409(toxiproxy: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = toxiproxy
    Toxic(url, HOP, "latency", {"latency": 5000, "jitter": 0}).inject()  # the crashed run's
    Toxic(url, HOP, "latency", {"latency": 200, "jitter": 0}).inject()
    (toxic,) = toxiproxy_api(url).get_proxy(HOP).toxics().values()
    assert toxic["name"] == "failover-latency-downstream" and toxic["attributes"]["latency"] == 200


def test_a_paused_toxiproxy_fails_the_revert_instead_of_hanging_it(
    toxiproxy: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, server = toxiproxy
    toxic = Toxic(url, HOP, "latency", {"latency": 200, "jitter": 0})
    toxic.inject()
    os.kill(server.pid, signal.SIGSTOP)
    outcome: list[BaseException | None] = []

    def revert() -> None:
        try:
            toxic.revert()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001  (handed to the test thread)
            outcome.append(error)

    worker = threading.Thread(target=revert, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a hang detector, not a timing: without a timeout the call never returns
    assert not worker.is_alive(), "the revert hung on a paused Toxiproxy"
    (error,) = outcome
    assert isinstance(error, InfrastructureError) and "did not answer" in error.message, error
    os.kill(server.pid, signal.SIGCONT)
    toxic.revert()
    assert toxiproxy_api(url).get_proxy(HOP).toxics() == {}

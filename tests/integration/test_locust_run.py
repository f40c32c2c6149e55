"""LocustRun against a fake model server on a free 127.0.0.1 port: records vs Locust's own counts."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import uvicorn

from harness.errors import BadInput, InfrastructureError
from harness.load.entry import EntryPoint
from harness.load.locust_run import LocustRun
from harness.load.payloads import DEFAULT_PAYLOADS
from harness.records import RequestRecord
from tests.integration._procs import HOST, free_port, wait_for

pytestmark = pytest.mark.integration

RECORD_FIELDS = {field.name for field in dataclasses.fields(RequestRecord)} | {"source"}
PREDICTION = 3


def _entry(url: str, payloads: Path = DEFAULT_PAYLOADS) -> EntryPoint:
    """The fake server's entry point, declared like the reference stack's."""
    return EntryPoint(
        url=f"{url}/predict", payloads=payloads, prediction="prediction", served_by_header="X-Served-By",
        model_version_header="X-Model-Version", degraded_header="X-Degraded",
    )


class FakeModelServer:
    """An ASGI app imitating the model servers' POST /predict, in one of three modes:
    "ok" (a prediction), "fail" (503) or "stall" (no answer while stalled, at most `stall_s`).
    The mode can be changed while it serves. Remembers every X-Request-Id it was sent."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.stall_s = 5.0
        self.request_ids: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode()
        self.request_ids.append(request_id)
        await self._stall()
        status, body = self._answer(request_id)
        headers = [
            (b"content-type", b"application/json"),
            (b"x-served-by", b"model-a"),
            (b"x-model-version", b"v2"),
            (b"x-degraded", b"false"),
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _stall(self) -> None:
        """Holds the answer while in "stall" mode, at most `stall_s`."""
        deadline = time.monotonic() + self.stall_s
        while self.mode == "stall" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def _answer(self, request_id: str) -> tuple[int, bytes]:
        if self.mode == "fail":
            return 503, b'{"error": "not ready", "reason": "told to fail"}'
        answer = {"prediction": PREDICTION, "model_version": "v2", "server": "model-a", "request_id": request_id}
        return 200, json.dumps(answer).encode()


@contextlib.contextmanager
def serve(app: FakeModelServer) -> Iterator[str]:
    """Runs `app` with uvicorn in a thread on a free 127.0.0.1 port; yields its URL."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "fake model server")
    try:
        yield f"http://{HOST}:{sock.getsockname()[1]}"
    finally:
        app.mode = "ok"  # releases stalled requests, so the server can stop at once
        server.should_exit = True
        thread.join()
        sock.close()


@dataclasses.dataclass
class Server:
    app: FakeModelServer
    url: str


@pytest.fixture
def server() -> Iterator[Server]:
    app = FakeModelServer()
    with serve(app) as url:
        yield Server(app, url)


def run_for(run: LocustRun, seconds: float) -> list[dict[str, Any]]:
    with run:
        time.sleep(seconds)
    return run.records()


def locust_processes(run: LocustRun) -> list[psutil.Process]:
    """Processes whose command line names this run's files (its workdir is unique)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(run.csv_prefix) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_every_request_is_recorded_once(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=4, rate=40)
    records = run_for(run, 4)
    stats = run.locust_stats()

    assert len(records) == stats["requests"] > 0
    assert stats["failures"] == 0
    assert all(set(record) == RECORD_FIELDS for record in records)
    assert all(record["ok"] and record["status"] == 200 and record["error"] == "" for record in records)
    assert {record["source"] for record in records} == {"locust"}
    assert {record["prediction"] for record in records} == {PREDICTION}
    assert {(record["served_by"], record["model_version"], record["degraded"]) for record in records} == {
        ("model-a", "v2", False)
    }
    assert all(isinstance(record["label"], int) for record in records)

    ids = [record["request_id"] for record in records]
    assert len(set(ids)) == len(ids)
    assert set(ids) == set(server.app.request_ids)


def test_503_answers_are_recorded_as_failures(server: Server, tmp_path: Path) -> None:
    server.app.mode = "fail"
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=20)
    records = run_for(run, 2)
    stats = run.locust_stats()

    assert len(records) == stats["requests"] == stats["failures"] > 0
    assert all(not record["ok"] and record["status"] == 503 for record in records)
    assert all("told to fail" in record["error"] and record["prediction"] is None for record in records)


def test_an_unreachable_server_is_recorded_as_failures(tmp_path: Path) -> None:
    run = LocustRun(_entry(f"http://{HOST}:{free_port()}"), tmp_path, users=2, rate=20)
    records = run_for(run, 2)
    stats = run.locust_stats()

    assert len(records) == stats["requests"] == stats["failures"] > 0
    assert {(record["ok"], record["status"], record["error"]) for record in records} == {
        (False, 0, "ConnectionRefusedError")
    }


def test_a_stalled_server_is_recorded_as_timeouts(server: Server, tmp_path: Path) -> None:
    server.app.mode = "stall"
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=4, timeout_s=0.5)
    records = run_for(run, 2)

    assert len(records) == run.locust_stats()["failures"] > 0
    assert {(record["ok"], record["status"], record["error"]) for record in records} == {(False, 0, "TimeoutError")}
    assert all(record["latency_s"] >= 0.4 for record in records), "a timeout is recorded as the time waited"


def test_relative_paths_work(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    payloads = Path("payloads.jsonl")
    payloads.write_text('{"features": [0.0, 1.0], "label": 7}\n')
    run = LocustRun(_entry(server.url, payloads), Path("run"), users=1, rate=10)
    records = run_for(run, 1)

    assert len(records) == run.locust_stats()["requests"] > 0
    assert {record["label"] for record in records} == {7}
    assert (tmp_path / "run" / "records.jsonl").exists()


def test_stop_leaves_no_locust_process(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=10)
    run.start()
    assert locust_processes(run)
    run.stop()
    run.stop()

    assert not psutil.pid_exists(run.pid)
    assert not locust_processes(run)


def test_stop_kills_a_locust_that_does_not_exit_in_time(server: Server, tmp_path: Path) -> None:
    server.app.mode, server.app.stall_s = "stall", 60.0  # a graceful exit would wait for these answers
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=10, timeout_s=60)
    run.stop_grace_s = 0.5
    run.start()
    wait_for(lambda: len(server.app.request_ids) > 0, 10, "a request in flight at the stalled server")
    run.stop()

    assert not locust_processes(run)
    assert run.records() == [], "no request finished: Locust was killed, it did not wait for the answers"


def test_a_locust_that_cannot_start_raises_with_its_stderr(server: Server, tmp_path: Path) -> None:
    (tmp_path / "records.jsonl").mkdir()  # the locustfile cannot open its records file
    run = LocustRun(_entry(server.url), tmp_path, users=1, rate=1)

    with pytest.raises(InfrastructureError, match="IsADirectoryError"):
        run.start()
    assert not locust_processes(run)


@pytest.mark.parametrize("host", ["notaurl", "127.0.0.1:8080", "http://127.0.0.1:notaport", "ftp://127.0.0.1:1"])
def test_a_bad_host_is_rejected_before_starting(host: str, tmp_path: Path) -> None:
    run = LocustRun(_entry(host), tmp_path, users=1, rate=1)

    with pytest.raises(BadInput, match="bad host URL"):
        run.start()
    assert run.pid is None


def test_failing_record_writes_do_not_stop_the_run(server: Server, tmp_path: Path) -> None:
    (tmp_path / "records.jsonl").symlink_to("/dev/full")  # every flush fails: no space left
    with LocustRun(_entry(server.url), tmp_path, users=2, rate=20) as run:
        wait_for(lambda: "request record flush failed" in run.stderr_path.read_text(), 10, "a failed flush logged")
        sent = len(server.app.request_ids)
        wait_for(lambda: len(server.app.request_ids) >= sent + 10, 10, "requests after the failed flush")

    assert run.locust_stats()["requests"] > sent


def test_records_leave_out_a_last_line_cut_short(tmp_path: Path) -> None:
    run = LocustRun(_entry("http://127.0.0.1:1"), tmp_path, users=1, rate=1)
    run.records_path.write_text('{"sent_at": 2.0}\n{"sent_at": 1.0}\n{"sent_at": 3.')

    assert run.records() == [{"sent_at": 1.0}, {"sent_at": 2.0}]


def test_zero_users_means_no_locust(tmp_path: Path) -> None:
    with LocustRun(_entry("http://127.0.0.1:1"), tmp_path, users=0, rate=10) as run:
        assert run.pid is None
    assert run.records() == []
    assert run.locust_stats()["requests"] == 0


def test_recording_can_be_disabled(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=20, record=False)
    records = run_for(run, 1)

    assert records == []
    assert not run.records_path.exists()
    assert run.locust_stats()["requests"] > 0

"""LocustRun in Locust's master/worker mode against the fake model server on 127.0.0.1:
records from every worker, the total rate, stop, workers that fail, `failover load-worker`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from harness.errors import InfrastructureError
from harness.load.locust_run import LocustRun
from tests.integration._procs import HOST, free_port, wait_for
from tests.integration.test_locust_run import RECORD_FIELDS, FakeModelServer, Server, _entry, serve

pytestmark = pytest.mark.integration

FAILOVER = Path(sys.executable).with_name("failover")


@pytest.fixture
def server() -> Iterator[Server]:
    app = FakeModelServer()
    with serve(app) as url:
        yield Server(app, url)


def records_by_file(run: LocustRun) -> dict[str, int]:
    """Records per records file in the run's workdir."""
    return {path.name: len(path.read_text().splitlines()) for path in sorted(run.workdir.glob("records*.jsonl"))}


def running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def test_two_workers_record_every_request_at_the_total_rate(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=4, rate=40, workers=2)
    with run:
        assert len(run.pids) == 3, "a master and two workers"
        time.sleep(4)
    records = run.records()
    stats = run.locust_stats()

    assert records_by_file(run).keys() == {"records-worker0.jsonl", "records-worker1.jsonl"}
    assert all(count > 0 for count in records_by_file(run).values()), "both workers sent requests"
    assert len(records) == stats["requests"] > 0, "the master's totals count exactly what the workers recorded"
    assert stats["failures"] == 0
    assert all(set(record) == RECORD_FIELDS and record["ok"] for record in records)
    assert [record["sent_at"] for record in records] == sorted(record["sent_at"] for record in records)
    ids = [record["request_id"] for record in records]
    assert len(set(ids)) == len(ids) and set(ids) == set(server.app.request_ids)

    steady = [record["sent_at"] for record in records if record["sent_at"] >= records[0]["sent_at"] + 1]
    achieved = (len(steady) - 1) / (steady[-1] - steady[0])
    assert 0.7 * 40 <= achieved <= 1.3 * 40, f"{achieved:.1f} req/s for a total target of 40"


def test_stop_leaves_no_master_and_no_worker(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=10, workers=2)
    run.start()
    pids = run.pids
    assert len(running(pids)) == 3
    run.stop()
    run.stop()

    assert running(pids) == []


def test_stop_kills_master_and_workers_stuck_on_stalled_requests(server: Server, tmp_path: Path) -> None:
    server.app.mode, server.app.stall_s = "stall", 60.0  # a graceful exit would wait for these answers
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=10, timeout_s=60, workers=2)
    run.stop_grace_s = 0.5
    run.start()
    pids = run.pids
    wait_for(lambda: len(server.app.request_ids) >= 2, 10, "requests in flight at the stalled server")
    run.stop()

    assert running(pids) == []
    assert run.records() == [], "no request finished: they were killed, they did not wait for the answers"


def test_a_worker_that_cannot_start_raises_with_its_stderr(server: Server, tmp_path: Path) -> None:
    (tmp_path / "records-worker1.jsonl").mkdir()  # worker 1 cannot open its records file
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=2, workers=2)

    with pytest.raises(InfrastructureError, match=r"(?s)worker 1 exited with code \d+ before the test.*IsADirectoryError"):
        run.start()
    assert running(run.pids) == []


def test_a_worker_that_never_connects_raises_with_the_masters_stderr(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=2, workers=1, start_timeout_s=2)
    run.remote_workers = 1  # the master waits for one more, which never comes

    with pytest.raises(InfrastructureError, match=r"(?s)within 2 s \(its master waits for 2 workers\).*1 workers connected"):
        run.start()
    assert running(run.pids) == []


def test_a_worker_that_dies_during_the_run_is_reported_at_stop(server: Server, tmp_path: Path) -> None:
    run = LocustRun(_entry(server.url), tmp_path, users=2, rate=10, workers=2)
    run.start()
    pids = run.pids
    os.kill(pids[2], signal.SIGKILL)
    # its threads may still be exiting (not yet reapable) when it shows as a zombie: wait for the master's word
    wait_for(lambda: "setting state to missing" in run.stderr_path.read_text(), 15, "the master missing a worker")

    with pytest.raises(InfrastructureError, match=r"worker 1 exited with code -9 during the run"):
        run.stop()
    assert running(pids) == []


def test_failover_load_worker_sends_every_record_to_the_master(server: Server, tmp_path: Path) -> None:
    """A worker as on another machine: no workdir, another current directory, a payload file it
    cannot read. Its settings and payloads come from the master, its records go back to it.

    Every answer takes 1 s, so the workers have requests in flight when the run stops: their
    records come last, and only a stop that waits for them has them all."""
    server.app.mode, server.app.stall_s = "stall", 1.0
    port = free_port()
    payloads, elsewhere = tmp_path / "payloads.jsonl", tmp_path / "elsewhere"
    payloads.write_text('{"features": [0.0, 1.0], "label": 7}\n')
    elsewhere.mkdir()
    run = LocustRun(_entry(server.url, payloads), tmp_path / "run", users=4, rate=40, workers=1, remote_workers=1, master_port=port)
    command = [str(FAILOVER), "load-worker", "--master-host", HOST, "--master-port", str(port)]
    with ThreadPoolExecutor(1) as pool, (tmp_path / "remote.log").open("wb") as log:
        starting = pool.submit(run.start)  # returns once the master has both workers
        # the master has read the payload file (init) once it takes workers: the remote one cannot read it
        wait_for(lambda: "1 workers connected" in run.stderr_path.read_text(), 30, "the local worker connected")
        payloads.unlink()
        remote = subprocess.Popen(command, cwd=elsewhere, stdout=log, stderr=subprocess.STDOUT)
        try:
            starting.result(timeout=60)
            time.sleep(3)
            run.stop()
            remote.wait(timeout=30)  # the master told it to quit
        finally:
            run.stop()
            remote.kill()
            remote.wait()
    output = (tmp_path / "remote.log").read_text()
    files = records_by_file(run)
    remote_files = [name for name in files if name.startswith(f"records-{socket.gethostname()}_")]
    records = run.records()
    ids = [record["request_id"] for record in records]

    assert remote.returncode == 0, output
    assert len(remote_files) == 1 and files[remote_files[0]] > 0, (files, output)
    assert files.keys() == {"records-worker0.jsonl", remote_files[0]}, files
    assert len(records) == run.locust_stats()["requests"], "every request Locust counted is recorded once"
    assert len(set(ids)) == len(ids) and set(ids) == set(server.app.request_ids), "...and every request sent"
    assert all(set(record) == RECORD_FIELDS and record["ok"] and record["label"] == 7 for record in records)
    assert list(elsewhere.iterdir()) == [], "the remote worker wrote nothing where it runs"


def test_failover_load_worker_refuses_a_master_of_no_failover_run(server: Server, tmp_path: Path) -> None:
    port = free_port()
    locustfile = tmp_path / "plain.py"
    locustfile.write_text(
        "from locust import User, constant, task\n\n\n"
        "class PlainUser(User):\n    wait_time = constant(1)\n\n    @task\n    def idle(self) -> None:\n        pass\n"
    )
    master_command = [
        *(sys.executable, "-m", "locust", "-f", str(locustfile), "--master", "--headless", "-u", "1", "-r", "1"),
        *("--master-bind-host", HOST, "--master-bind-port", str(port), "--expect-workers", "1", "--host", server.url),
    ]
    with (tmp_path / "master.log").open("wb") as master_log, (tmp_path / "remote.log").open("wb") as log:
        master = subprocess.Popen(master_command, cwd=tmp_path, stdout=master_log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: _listening(port), 30, "the plain Locust master")
            remote = subprocess.run(
                [str(FAILOVER), "load-worker", "--master-host", HOST, "--master-port", str(port)],
                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, timeout=60, check=False,
            )
        finally:
            master.kill()
            master.wait()
    output = (tmp_path / "remote.log").read_text()

    assert remote.returncode == 2, output
    assert "it is not the master of a `failover` run" in output
    assert "--master-host and --master-port of a running scenario" in output
    assert server.app.request_ids == []


def _listening(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1):
        return True

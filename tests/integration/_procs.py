"""Process helpers for integration tests: Redis, Sentinel and the model server
as real local processes on free 127.0.0.1 ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import redis

REPO = Path(__file__).resolve().parents[2]
MODELSERVER_DIR = REPO / "compose" / "modelserver"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll until condition() is true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if condition():
                return time.monotonic() - start
        except (OSError, redis.RedisError, httpx.HTTPError):
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not within {timeout} s")


def command(port: int, *args: str) -> object:
    """One Redis command on 127.0.0.1:port over a short-lived connection."""
    with redis.Redis(HOST, port, socket_timeout=0.5, decode_responses=True) as client:
        return client.execute_command(*args)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Proc:
    """A started process whose output goes to workdir/<name>.log."""

    def __init__(
        self,
        args: list[str],
        workdir: Path,
        name: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                args, cwd=cwd or workdir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop(self) -> None:
        stop(self.popen)

    def await_ready(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """wait_for(); on timeout the process is stopped and its log is in the error."""
        try:
            return wait_for(condition, timeout, what)
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{exc}; log:\n{self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_redis(workdir: Path, port: int, replica_of: int | None = None, promotable: bool = False) -> Proc:
    """A Redis node without persistence. A replica is returned once in sync;
    unless promotable it has priority 0, so Sentinel can never promote it.
    No diskless-sync delay: the default makes a new replica wait 5 s."""
    args = ["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    args += ["--repl-diskless-sync-delay", "0"]
    if replica_of is not None:
        args += ["--replicaof", HOST, str(replica_of), "--replica-priority", "100" if promotable else "0"]
    proc = Proc(args, workdir, f"redis-{port}")
    if replica_of is None:
        proc.await_ready(lambda: bool(command(port, "PING")), 5, f"redis on {port}")
    else:
        in_sync = lambda: command(port, "INFO", "replication")["master_link_status"] == "up"  # noqa: E731
        proc.await_ready(in_sync, 5, f"replica on {port} in sync")
    return proc


def start_sentinel(workdir: Path, port: int, primary_port: int, master: str) -> Proc:
    """A Sentinel monitoring the primary; it rewrites its config, hence a file of its own."""
    config = workdir / f"sentinel-{port}.conf"
    workdir.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"port {port}\nbind {HOST}\ndir {workdir}\n"
        f"sentinel monitor {master} {HOST} {primary_port} 1\n"
        f"sentinel down-after-milliseconds {master} 60000\n"
    )
    proc = Proc(["redis-sentinel", str(config)], workdir, f"sentinel-{port}")

    knows_primary = lambda: bool(command(port, "SENTINEL", "get-master-addr-by-name", master))  # noqa: E731
    proc.await_ready(knows_primary, 5, f"sentinel on {port}")
    return proc


def start_modelserver(workdir: Path, env: Mapping[str, str]) -> Proc:
    """`python -m modelserver` from its folder, as the stack runs it."""
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env}
    return Proc([sys.executable, "-m", "modelserver"], workdir, env["SERVER_NAME"], MODELSERVER_DIR, full_env)

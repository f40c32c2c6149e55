"""The local backend's supervisor: runs a stack's services as host processes.

Started detached by `LocalStack.up` as `python -m harness.stack.supervisor RUN_DIR`,
it outlives the command that started it (like dockerd does for containers):
- starts each service of RUN_DIR/plan.json in its own session (so signals
  reach the whole process group), output appended to RUN_DIR/logs/NAME.log;
- restarts services that die on their own, per their compose restart policy,
  with Docker's doubling back-off; a service the operator killed or stopped
  stays down until started, exactly as with `docker kill`;
- runs each service's healthcheck on its interval (healthy / unhealthy after
  `retries` consecutive failures, as Docker does), every 0.25 s until the
  first success, like Docker's `start_interval`;
- answers one JSON request per connection on its control socket
  (RUN_DIR/control.sock, see `control_socket`);
- records every pid in RUN_DIR/state.json so `down` can clean up even if the
  supervisor itself was killed;
- creates everything (its files, and through the services' inherited umask
  theirs: logs, Redis dumps, Sentinel configs) readable by the user only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness.errors import InfrastructureError
from harness.stack.local_plan import ProcessPlan
from harness.stack.state import socket_key

STOP_GRACE_S = 10.0
_MAX_BACKOFF_S = 10.0
_RESET_BACKOFF_AFTER_S = 10.0
_MAX_SOCKET_PATH = 100
"""AF_UNIX paths are limited to 107 bytes on Linux."""
_START_INTERVAL_S = 0.25
"""Until its first healthy check, a service is checked this often (Docker's start_interval)."""
_PRIVATE_UMASK = 0o077


def control_socket(run_dir: Path) -> Path:
    """RUN_DIR/control.sock, or, when that path is too long for AF_UNIX, a socket in a private temp folder.

    The folder's name is keyed with the state directory's secret (`socket_key`), so
    client and supervisor agree on it and no other user can predict (and squat) it.
    """
    path = run_dir / "control.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hmac.new(socket_key(), str(run_dir.resolve()).encode(), hashlib.sha256).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"failover-{digest}" / "control.sock"


def bind_control_socket(run_dir: Path) -> socket.socket:
    """A listening socket at `control_socket(run_dir)`; a temp-folder one goes in a folder only we can enter."""
    path = control_socket(run_dir)
    if path.parent != run_dir:
        _private_socket_folder(path.parent)
    # Bound and listening under another name first: the path appears (the harness waits for it)
    # only once a connect can succeed. Bound in place, a busy machine could let a client connect
    # between bind and listen and be refused.
    pending = path.with_name(f".{path.name}.pending")
    pending.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(pending))
    server.listen(16)
    os.replace(pending, path)
    return server


def remove_control_socket(run_dir: Path) -> None:
    """The socket, and its temp folder if it has one (the folder only: nothing else is deleted there)."""
    path = control_socket(run_dir)
    path.unlink(missing_ok=True)
    if path.parent != run_dir:
        try:
            path.parent.rmdir()
        except OSError:
            pass  # gone already, or not ours to empty


def _private_socket_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass  # left by an earlier supervisor of this run directory: reused if it is still private
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise InfrastructureError(
            f"{folder} is not a private folder of this user: refusing to put the control socket there",
            "remove it, or use a shorter FAILOVER_STATE_DIR (the socket then stays in the run directory)",
        )


@dataclass
class Child:
    plan: ProcessPlan
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    desired: str = "running"
    paused: bool = False
    restarts: int = 0
    backoff_s: float = 0.1
    restart_at: float | None = None
    started_at: float = 0.0
    exit_code: int | None = None
    health: str = "none"
    failures: int = 0
    has_been_healthy: bool = False
    generation: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def state(self) -> str:
        if self.running:
            return "paused" if self.paused else "running"
        if self.restart_at is not None:
            return "restarting"
        return "stopped" if self.desired == "stopped" else "exited"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.plan.name,
            "state": self.state(),
            "health": self.health if self.running else "none",
            "pid": self.process.pid if self.running and self.process else None,
            "restarts": self.restarts,
            "exit_code": self.exit_code,
            "ports": self.plan.listen_ports,
        }


class Supervisor:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        plans = [ProcessPlan(**item) for item in json.loads((run_dir / "plan.json").read_text())]
        (run_dir / "logs").mkdir(exist_ok=True)
        self.children = {plan.name: Child(plan, run_dir / "logs" / f"{plan.name}.log") for plan in plans}
        self.shutdown = threading.Event()
        self.stopped = threading.Event()
        self.down_requested = threading.Event()
        self.replied = threading.Event()
        """Set once the reply to `down` was sent, so the process can exit."""
        self.state_lock = threading.Lock()
        self._health_threads: list[threading.Thread] = []

    # lifecycle -----------------------------------------------------------
    def serve(self) -> None:
        """Run until asked to shut down, then stop every service, in that order.

        Shutting down stops the restart loop and waits for running health
        checks first, so nothing is (re)started once the stack is going down.
        """
        server = bind_control_socket(self.run_dir)
        threading.Thread(target=self._accept_loop, args=(server,), daemon=True).start()
        for child in self.children.values():
            self._spawn(child)
            thread = threading.Thread(target=self._health_loop, args=(child,), daemon=True)
            thread.start()
            self._health_threads.append(thread)
        try:
            while not self.shutdown.is_set():
                for child in self.children.values():
                    self._reap_or_restart(child)
                self.shutdown.wait(0.05)
        finally:
            self.shutdown.set()
            for thread in self._health_threads:
                thread.join()
            self._stop_all()
            self.stopped.set()
            server.close()

    def _stop_all(self) -> None:
        for child in reversed(list(self.children.values())):
            self.stop(child, grace_s=5.0)
        self._write_state()

    # operations ----------------------------------------------------------
    def start(self, child: Child) -> None:
        with child.lock:
            child.desired = "running"
            if not child.running:
                child.restart_at = None
                self._spawn(child)

    def stop(self, child: Child, grace_s: float = STOP_GRACE_S) -> None:
        with child.lock:
            child.desired = "stopped"
            child.restart_at = None
            process = child.process
            if process is None or process.poll() is not None:
                return
            self._signal(child, signal.SIGTERM)
            if child.paused:
                self._signal(child, signal.SIGCONT)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._signal(child, signal.SIGKILL)
            process.wait()

    def kill(self, child: Child) -> None:
        with child.lock:
            child.desired = "stopped"
            child.restart_at = None
            process = child.process
            self._signal(child, signal.SIGKILL)
        if process is not None:
            process.wait()

    def send_signal(self, child: Child, signum: int) -> None:
        """As `docker kill --signal` does: the service counts as stopped by hand, so a process the signal
        ends stays down (no restart policy) until started again."""
        with child.lock:
            child.desired = "stopped"
            child.restart_at = None
            self._signal(child, signum)

    def pause(self, child: Child) -> None:
        with child.lock:
            if child.running and not child.paused:
                self._signal(child, signal.SIGSTOP)
                child.paused = True

    def unpause(self, child: Child) -> None:
        with child.lock:
            if child.paused:
                self._signal(child, signal.SIGCONT)
                child.paused = False

    def restart(self, child: Child) -> None:
        self.stop(child)
        self.start(child)

    # internals -----------------------------------------------------------
    def _spawn(self, child: Child) -> None:
        plan = child.plan
        with child.lock, open(child.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} starting {plan.name}: {' '.join(plan.argv)}\n".encode())
            log.flush()
            child.process = subprocess.Popen(
                plan.argv,
                cwd=plan.cwd,
                env=plan.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            child.started_at = time.monotonic()
            child.paused = False
            child.health = "starting" if plan.healthcheck else "none"
            child.failures = 0
            child.has_been_healthy = False
            child.generation += 1
        self._write_state()

    def _reap_or_restart(self, child: Child) -> None:
        with child.lock:
            process = child.process
            if process is not None and process.poll() is not None:
                self._on_exit(child, process.returncode)
            if child.restart_at is not None and time.monotonic() >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                self._spawn(child)

    def _on_exit(self, child: Child, code: int) -> None:
        child.process = None
        child.exit_code = code
        child.paused = False
        with open(child.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {child.plan.name} exited with code {code}\n".encode())
        if child.desired == "running" and self._policy_restarts(child.plan.restart, code):
            if time.monotonic() - child.started_at > _RESET_BACKOFF_AFTER_S:
                child.backoff_s = 0.1
            child.restart_at = time.monotonic() + child.backoff_s
            child.backoff_s = min(child.backoff_s * 2, _MAX_BACKOFF_S)
        self._write_state()

    @staticmethod
    def _policy_restarts(policy: str, code: int) -> bool:
        if policy in ("always", "unless-stopped"):
            return True
        return policy.startswith("on-failure") and code != 0

    @staticmethod
    def _signal(child: Child, signum: int) -> None:
        if child.process is None or child.process.poll() is not None:
            return
        try:
            os.killpg(child.process.pid, signum)
        except ProcessLookupError:
            pass

    def _health_loop(self, child: Child) -> None:
        plan = child.plan
        if not plan.healthcheck:
            return
        while not self.shutdown.is_set():
            generation = child.generation
            if child.running and not child.paused:
                healthy = self._run_check(plan)
                with child.lock:
                    if child.generation == generation and child.running:
                        child.failures = 0 if healthy else child.failures + 1
                        if healthy:
                            child.health = "healthy"
                            child.has_been_healthy = True
                        elif child.failures >= plan.health_retries:
                            child.health = "unhealthy"
            elif child.paused:
                with child.lock:
                    child.failures += 1
                    if child.failures >= plan.health_retries:
                        child.health = "unhealthy"
            started = child.has_been_healthy
            self.shutdown.wait(plan.health_interval_s if started else min(plan.health_interval_s, _START_INTERVAL_S))

    @staticmethod
    def _run_check(plan: ProcessPlan) -> bool:
        try:
            result = subprocess.run(
                plan.healthcheck or [],
                env=plan.env,
                cwd=plan.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=plan.health_timeout_s,
            )
        except (subprocess.TimeoutExpired, OSError):
            return False
        return result.returncode == 0

    def _write_state(self) -> None:
        """Record (pid, start time) of every process; the start time guards `down` against pid reuse."""
        processes = [os.getpid(), *(c.process.pid for c in self.children.values() if c.process is not None)]
        records = [[pid, _start_time(pid)] for pid in processes]
        with self.state_lock:
            tmp = self.run_dir / "state.json.tmp"
            tmp.write_text(json.dumps({"processes": records}))
            tmp.replace(self.run_dir / "state.json")

    # control socket --------------------------------------------------------
    def _accept_loop(self, server: socket.socket) -> None:
        while not self.shutdown.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        request: dict[str, Any] = {}
        with connection, connection.makefile("rwb") as stream:
            try:
                request = json.loads(stream.readline())
                reply = {"ok": True, "result": self._dispatch(request)}
            except Exception as error:  # one bad request must not take the supervisor down
                reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            stream.write(json.dumps(reply).encode() + b"\n")
            stream.flush()
        if request.get("op") == "down":
            self.replied.set()

    def _dispatch(self, request: dict[str, Any]) -> Any:
        op = request["op"]
        if op == "status":
            return [child.describe() for child in self.children.values()]
        if op == "down":
            self.down_requested.set()
            self.shutdown.set()
            self.stopped.wait()
            return None
        if op == "signal":
            self.send_signal(self.children[request["service"]], int(request["signum"]))
            return None
        operations = {
            "start": self.start,
            "stop": self.stop,
            "kill": self.kill,
            "restart": self.restart,
            "pause": self.pause,
            "unpause": self.unpause,
        }
        operations[op](self.children[request["service"]])
        return None


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def main() -> None:
    run_dir = Path(sys.argv[1])
    os.umask(_PRIVATE_UMASK)  # inherited by every service: their logs, dumps and configs are the user's only
    supervisor = Supervisor(run_dir)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: supervisor.shutdown.set())
    try:
        supervisor.serve()
    finally:
        if supervisor.down_requested.is_set():
            supervisor.replied.wait(timeout=5.0)
        remove_control_socket(run_dir)


if __name__ == "__main__":
    main()

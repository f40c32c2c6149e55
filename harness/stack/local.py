"""The local backend: the stack as supervised host processes on loopback.

The supervisor (`supervisor.py`) is a detached process per project; this
class is its client. Run state lives in `FAILOVER_STATE_DIR` (default
`~/.local/state/failover-harness`)/local/PROJECT: plan.json, state.json,
control.sock and one log per service, all private to the user (see `state.py`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from harness.errors import InfrastructureError
from harness.stack.base import LOOPBACK, ServiceStatus, Stack, StackSettings
from harness.stack.local_plan import plan_stack
from harness.stack.ports import ensure_ports_free
from harness.stack.project import check_project_name
from harness.stack.readiness import not_ready_summary, wait_until_ready
from harness.stack.state import (
    private_dir,
    remove_state_tree,
    state_root,
    write_private,
)
from harness.stack.supervisor import control_socket, remove_control_socket

__all__ = ["LocalStack", "state_root"]

_CONTROL_TIMEOUT_S = 60.0


class LocalStack(Stack):
    backend = "local"

    def __init__(self, settings: StackSettings | None = None) -> None:
        super().__init__(settings)
        check_project_name(self.settings.project)  # it names a folder: '../..' must not reach rmtree

    @property
    def run_dir(self) -> Path:
        return state_root() / "local" / self.settings.project

    # lifecycle -------------------------------------------------------------
    def up(self, timeout_s: float = 180.0, progress: bool = True) -> None:
        if self._supervisor_alive() and self._running_profile() != self.settings.profile:
            self.down()  # a stack kept up (--keep-up) in another profile: its processes have the wrong settings
        if not self._supervisor_alive():
            self._clean_leftovers()
            self.settings.provision_registry(fresh=True)
            self._start_supervisor()
        try:
            wait_until_ready(self.status, timeout_s, progress, lambda s: not_ready_summary(s, self.logs))
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        if self._supervisor_alive():
            try:
                self._request("down")
            except InfrastructureError:
                pass  # the sweep below still removes every process
            self._wait_exit(self._supervisor_pid(), timeout_s=30.0)
        self._clean_leftovers()
        self.settings.discard_registry()

    def status(self) -> list[ServiceStatus]:
        reported: dict[str, dict[str, Any]] = {}
        if self._supervisor_alive():
            reported = {item["name"]: item for item in self._request("status")}
        return [self._service_status(name, reported.get(name)) for name in self.spec.services]

    def logs(self, service: str, tail: int | None = 50) -> str:
        self.spec.service(service)
        path = self.run_dir / "logs" / f"{service}.log"
        if not path.exists():
            return ""
        lines = path.read_text(errors="replace").splitlines()
        return "\n".join(lines if tail is None else lines[-tail:])

    # per-service operations --------------------------------------------------
    def kill(self, service: str) -> None:
        self._operate("kill", service)

    def stop(self, service: str) -> None:
        self._operate("stop", service)

    def start(self, service: str) -> None:
        self._operate("start", service)

    def restart(self, service: str) -> None:
        self._operate("restart", service)

    def pause(self, service: str) -> None:
        self._operate("pause", service)

    def unpause(self, service: str) -> None:
        self._operate("unpause", service)

    def signal(self, service: str, signum: int) -> None:
        """Send `signum` to the service's process group; what follows (exit, restart) is its own doing
        and the restart policy's."""
        self._operate("signal", service, signum=signum)

    # internals ---------------------------------------------------------------
    def _operate(self, op: str, service: str, **fields: Any) -> None:
        self.spec.service(service)
        if not self._supervisor_alive():
            raise InfrastructureError(
                f"the local stack '{self.settings.project}' is not up", "start it: failover stack up --backend local"
            )
        self._request(op, service, **fields)

    def _start_supervisor(self) -> None:
        if self.run_dir.exists():
            remove_state_tree(self.run_dir)
        private_dir(self.run_dir.parent)
        private_dir(self.run_dir)
        plans = plan_stack(self.spec, self.run_dir)
        ensure_ports_free((port, f"{plan.name} listen port") for plan in plans for port in plan.listen_ports)
        write_private(self.run_dir / "plan.json", json.dumps([plan.to_json() for plan in plans], indent=1))
        write_private(self.run_dir / "profile", self.settings.profile)
        write_private(self.run_dir / "supervisor.log", "")  # created private, then the supervisor's output
        with open(self.run_dir / "supervisor.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "harness.stack.supervisor", str(self.run_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_private(self.run_dir / "supervisor.pid", str(process.pid))
        deadline = time.monotonic() + 10.0
        while not control_socket(self.run_dir).exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise InfrastructureError(
                    "the local supervisor did not start", f"see {self.run_dir / 'supervisor.log'}"
                )
            time.sleep(0.02)

    def _running_profile(self) -> str | None:
        path = self.run_dir / "profile"
        return path.read_text() if path.exists() else None

    def _service_status(self, name: str, reported: dict[str, Any] | None) -> ServiceStatus:
        endpoints = tuple(f"{LOOPBACK}:{port.host_port}" for port in self.spec.services[name].ports)
        if reported is None:
            return ServiceStatus(name, "missing", "none", endpoints)
        return ServiceStatus(
            name=name,
            state=reported["state"],
            health=reported["health"],
            endpoints=endpoints,
            restarts=reported["restarts"],
            ref=str(reported["pid"] or ""),
        )

    def _request(self, op: str, service: str | None = None, **fields: Any) -> Any:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(_CONTROL_TIMEOUT_S)
                connection.connect(str(control_socket(self.run_dir)))
                connection.sendall(json.dumps({"op": op, "service": service, **fields}).encode() + b"\n")
                reply = json.loads(connection.makefile("rb").readline() or b"{}")
        except (OSError, ValueError) as error:
            raise InfrastructureError(f"the local supervisor did not answer '{op}': {error}") from error
        if not reply.get("ok"):
            raise InfrastructureError(f"local supervisor: {op} {service or ''} failed: {reply.get('error')}")
        return reply.get("result")

    def _supervisor_pid(self) -> int | None:
        try:
            return int((self.run_dir / "supervisor.pid").read_text())
        except (OSError, ValueError):
            return None

    def _supervisor_alive(self) -> bool:
        pid = self._supervisor_pid()
        return pid is not None and _alive(pid) and control_socket(self.run_dir).exists()

    def _clean_leftovers(self) -> None:
        """Kill whatever a dead supervisor left behind, from its pid records."""
        try:
            records = json.loads((self.run_dir / "state.json").read_text())["processes"]
        except (OSError, ValueError, KeyError):
            records = []
        for pid, started in records:
            if _alive(pid) and _start_time(pid) == started:
                _kill_group(pid)
                self._wait_exit(pid, timeout_s=5.0)
        remove_control_socket(self.run_dir)
        for name in ("supervisor.pid", "state.json"):
            (self.run_dir / name).unlink(missing_ok=True)

    @staticmethod
    def _wait_exit(pid: int | None, timeout_s: float) -> None:
        if pid is None:
            return
        try:
            psutil.Process(pid).wait(timeout=timeout_s)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            _kill_group(pid)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass

"""Derives host processes from the compose declaration, for the local backend.

Rules (the only ones; see compose/docker-compose.yml):
- Every service listens on a port unique in the stack, so a service hostname
  or 0.0.0.0 followed by `:port` (anywhere), or standing alone as a command
  argument, becomes 127.0.0.1.
- A container path under a bind mount becomes the mount's host path.
- Files listed in a service's `x-local.render` are copied into the service's
  run directory with the hostname rule applied, and their paths point there.
- `python` is the harness's own interpreter; other programs come from PATH
  (or `.tools/bin`, where `make` installs Toxiproxy).
- A healthcheck runs every `interval`, but at most `MAX_HEALTH_INTERVAL_S` apart:
  the compose file's interval is long to spare containers Docker's `runc exec`
  (harness/stack/readiness.py), a host process check is cheap, and the
  supervisor's first check of a restarted service waits out the current one.
- A service's environment is what the compose file declares for it plus the
  few variables a program needs to run (`PASSED_THROUGH`), as in a container:
  not the caller's whole environment (its tokens), which plan.json would keep.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.errors import MissingBinary
from harness.stack.base import LOOPBACK
from harness.stack.spec import REPO_ROOT, ServiceSpec, StackSpec, container_to_host
from harness.stack.state import private_dir, write_private

TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
_INSTALL_HINTS = {
    "haproxy": "apt-get install -y haproxy",
    "redis-server": "apt-get install -y redis-server",
    "redis-sentinel": "apt-get install -y redis-sentinel",
    "redis-cli": "apt-get install -y redis-tools",
    "toxiproxy-server": "bash compose/setup/toxiproxy.sh (installs it into .tools/bin with `go install`)",
}
_ANY_ADDRESS = "0.0.0.0"
MAX_HEALTH_INTERVAL_S = 5.0
PASSED_THROUGH = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "FAILOVER_STATE_DIR")
"""The caller's variables every service gets: where programs (and Python modules) are, the user's home,
locale and time zone; FAILOVER_STATE_DIR marks the stack's processes, as a label marks containers (tests
find leftovers by it)."""
PASSED_THROUGH_PREFIX = "FAILOVER_TEST_"
"""Variables a test sets for a hook it loads into a service (e.g. tests/integration/inflight_kill_hook)."""


def _passed_through(name: str) -> bool:
    return name in PASSED_THROUGH or name.startswith(PASSED_THROUGH_PREFIX)


@dataclass(frozen=True)
class ProcessPlan:
    """One service as a host process: everything the supervisor needs to run it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    restart: str
    depends_on: list[str]
    listen_ports: list[int]
    healthcheck: list[str] | None
    health_interval_s: float
    health_timeout_s: float
    health_retries: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class _Rewriter:
    """Applies the hostname and path rules of this module to one service."""

    def __init__(self, spec: StackSpec, service: ServiceSpec, service_dir: Path | None) -> None:
        """`service_dir`: where `x-local.render` files are written; None renders nothing (a healthcheck only)."""
        names = sorted([*spec.services, _ANY_ADDRESS], key=len, reverse=True)
        alternatives = "|".join(re.escape(name) for name in names)
        self._hosts = set(names)
        self._host_port = re.compile(rf"(?<![\w.-])(?:{alternatives}):(?=\d)")
        self._listen = re.compile(rf"(?<![\w.-]){re.escape(_ANY_ADDRESS)}:(\d+)")
        self._mounts = service.mounts
        self._rendered: dict[str, str] = {}
        self.listen_ports: set[int] = {port.host_port for port in service.ports}
        for target in service.render if service_dir is not None else ():
            self._rendered[target] = str(self._render(target, service_dir))

    def text(self, value: str) -> str:
        self.listen_ports.update(int(port) for port in self._listen.findall(value))
        return self._host_port.sub(f"{LOOPBACK}:", value)

    def arg(self, value: str) -> str:
        """A command argument: a bare hostname is an address here (`--replicaof redis-1 16379`)."""
        return LOOPBACK if value in self._hosts else self.value(value)

    def value(self, value: str) -> str:
        """An environment value: only `host:port` is an address (SERVER_NAME=model-a stays a name)."""
        return self.path(self.text(value))

    def path(self, value: str) -> str:
        if value in self._rendered:
            return self._rendered[value]
        host = container_to_host(value, self._mounts)
        return value if host is None else str(host)

    def _render(self, target: str, service_dir: Path) -> Path:
        source = Path(self.path(target))
        rendered = service_dir / source.name
        write_private(rendered, self.text(source.read_text()))
        return rendered


def find_executable(program: str) -> str:
    if program in ("python", "python3"):
        return sys.executable
    found = shutil.which(program) or shutil.which(program, path=str(TOOLS_BIN))
    if found is None:
        raise MissingBinary(program, _INSTALL_HINTS.get(program, f"install '{program}'"))
    return found


def plan_service(spec: StackSpec, service: ServiceSpec, run_dir: Path) -> ProcessPlan:
    service_dir = private_dir(run_dir / service.name)
    rewrite = _Rewriter(spec, service, service_dir)
    argv = [find_executable(service.command[0]), *(rewrite.arg(part) for part in service.command[1:])]
    if "--" in argv[1:-1]:  # a launcher: `python pin_hosts.py NAMES -- redis-server ...` runs a program of its own
        launched = argv.index("--", 1) + 1
        argv[launched] = find_executable(argv[launched])
    passed = {name: value for name, value in os.environ.items() if _passed_through(name)}
    env = {**passed, "PYTHONUNBUFFERED": "1", **{k: rewrite.value(v) for k, v in service.environment.items()}}
    cwd = rewrite.path(service.working_dir) if service.working_dir else ""
    check = service.healthcheck
    return ProcessPlan(
        name=service.name,
        argv=argv,
        env=env,
        cwd=cwd if cwd and Path(cwd).is_dir() and cwd != service.working_dir else str(service_dir),
        restart=service.restart,
        depends_on=list(service.depends_on),
        listen_ports=sorted(rewrite.listen_ports),
        healthcheck=_health_argv(check.test, rewrite) if check else None,
        health_interval_s=min(check.interval_s, MAX_HEALTH_INTERVAL_S) if check else 0.0,
        health_timeout_s=check.timeout_s if check else 0.0,
        health_retries=check.retries if check else 0,
    )


def host_healthcheck(spec: StackSpec, service: ServiceSpec) -> list[str] | None:
    """The service's healthcheck as a command run on the host by this module's rules (its
    `host:port` on loopback, its paths through the bind mounts), or None when it has none.

    The compose backend runs it to check readiness from the host (harness/stack/readiness.py).
    """
    if service.healthcheck is None or service.healthcheck.test[0] not in ("CMD", "CMD-SHELL"):
        return None  # none, or `NONE` (disabled)
    return _health_argv(service.healthcheck.test, _Rewriter(spec, service, None))


def _health_argv(test: tuple[str, ...], rewrite: _Rewriter) -> list[str]:
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", rewrite.text(rest[0])]
    return [find_executable(rest[0]), *(rewrite.arg(part) for part in rest[1:])]


def plan_stack(spec: StackSpec, run_dir: Path) -> list[ProcessPlan]:
    """Every service as a process plan, in start order."""
    return [plan_service(spec, spec.services[name], run_dir) for name in spec.start_order()]

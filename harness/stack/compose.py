"""The compose backend: the stack as Docker containers, driven by Compose and the Docker SDK.

Compose creates and removes the stack; every fault acts on a container through
the SDK. Containers are found only through Compose's labels, never by name, so
any Compose version and any project name work.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import docker
import psutil
import requests
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.models.networks import Network

from harness.errors import InfrastructureError, MissingBinary
from harness.stack.base import (
    LOOPBACK,
    Health,
    ServiceState,
    ServiceStatus,
    Stack,
    StackSettings,
)
from harness.stack.images import docker_client, ensure_stack_image
from harness.stack.ports import ensure_ports_free
from harness.stack.project import check_project_name
from harness.stack.readiness import HostReadiness, not_ready_summary, wait_until_ready

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
_COMPOSE_TIMEOUT_S = 300
_DOCKER_API_TIMEOUT_S = 60.0
"""Every Docker API call gives up after this long (plus a stop's grace period): a wedged dockerd must not
hang a revert. Not shorter: the image build streams through the same client and may be silent a while."""
_DIRECT_STATES: dict[str, ServiceState] = {"running": "running", "paused": "paused", "restarting": "restarting"}
_HEALTH: dict[str, Health] = {"healthy": "healthy", "unhealthy": "unhealthy", "starting": "starting"}
CPU_PERIOD_US = 100_000
_CLEAN_EXIT_CODES = (0, 143)
"""Exit codes of a process that stopped when asked to (SIGTERM); anything else is a crash or a kill."""


@cache
def compose_command() -> tuple[str, ...]:
    """`docker compose` (v2) when the plugin works, else `docker-compose` (v1)."""
    if shutil.which("docker"):
        try:
            probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False, timeout=30)
            if probe.returncode == 0:
                return ("docker", "compose")
        except subprocess.TimeoutExpired:
            pass  # a wedged plugin: try docker-compose (v1)
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise MissingBinary(
        "docker-compose", "apt-get install -y docker-compose (Debian) or install the Docker Compose v2 plugin"
    )


class ComposeStack(Stack):
    backend = "compose"

    def __init__(self, settings: StackSettings | None = None) -> None:
        super().__init__(settings)
        check_project_name(self.settings.project)
        self._compose_cmd = compose_command()
        self._client: docker.DockerClient | None = None
        self._disconnected: dict[str, list[str]] = {}
        """Networks each disconnected service was taken off, for `reconnect`."""
        self._host_readiness = HostReadiness.for_stack(self.spec)

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker_client()
            self._client.api.timeout = _DOCKER_API_TIMEOUT_S
        return self._client

    # lifecycle

    def up(self, timeout_s: float = 180.0, progress: bool = True) -> None:
        """Start the stack, or bring a running one back to its declaration (its ports are its own)."""
        fresh = not self._containers_by_service()
        if fresh:
            ensure_ports_free(
                (port.host_port, f"{name} published port")
                for name, service in self.spec.services.items()
                for port in service.ports
            )
        if self.settings.reference_image:
            ensure_stack_image(self.settings.environment(), progress, self.client)
        self.settings.provision_registry(fresh=fresh)  # a running stack keeps its own
        try:
            self._compose("up", "-d", "--build" if self.settings.build else "--no-build", "--remove-orphans")
            wait_until_ready(
                self.status, timeout_s, progress, describe_failure=lambda s: not_ready_summary(s, self.logs)
            )
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Compose `down`, then remove whatever is still labelled with the project (even if `down` failed)."""
        self._unpause_all()
        try:
            self._compose("down", "-v", "--remove-orphans", "--timeout", "5")
        except InfrastructureError:
            pass  # the sweep below removes what Compose left behind
        self._sweep()
        self._disconnected.clear()
        self.settings.discard_registry()

    # observation

    def status(self) -> list[ServiceStatus]:
        """Docker's view of each service; a container Docker has not probed yet is healthy once its
        healthcheck passed from the host (stacks with `x-readiness: host`, see readiness.py)."""
        containers = self._containers_by_service()
        statuses = [
            _service_status(name, containers.get(name), tuple(f"{LOOPBACK}:{p.host_port}" for p in service.ports))
            for name, service in self.spec.services.items()
        ]
        instances = {name: f"{c.id}@{c.attrs['State'].get('StartedAt', '')}" for name, c in containers.items()}
        return self._host_readiness.apply(statuses, instances)

    def logs(self, service: str, tail: int | None = 50) -> str:
        """With Docker's timestamp on every line, to set a service's words beside the run's records."""
        self.spec.service(service)
        container = self._containers_by_service().get(service)
        if container is None:
            return ""
        lines = "all" if tail is None else tail
        return container.logs(stdout=True, stderr=True, tail=lines, timestamps=True).decode("utf-8", errors="replace")

    # faults

    def kill(self, service: str) -> None:
        self._act(service, "kill")

    def stop(self, service: str) -> None:
        self._act(service, "stop", timeout=10)

    def start(self, service: str) -> None:
        self._act(service, "start")

    def restart(self, service: str) -> None:
        self._act(service, "restart", timeout=10)

    def pause(self, service: str) -> None:
        self._act(service, "pause")

    def unpause(self, service: str) -> None:
        self._act(service, "unpause")

    def disconnect(self, service: str) -> None:
        """Take the service's container off every network of the project."""
        container = self._container(service)
        attached = set(container.attrs["NetworkSettings"]["Networks"])
        taken_off = self._disconnected.setdefault(service, [])
        for network in self._project_networks():
            if network.name in attached:
                _docker_call(f"disconnect {service} from {network.name}", network.disconnect, container)
                taken_off.append(network.name)

    def reconnect(self, service: str) -> None:
        """Put the container back on the networks it was taken off (default: `<project>_default`).

        The service name is its alias there, so the other services resolve it again.
        """
        container = self._container(service)
        attached = set(container.attrs["NetworkSettings"]["Networks"])
        names = self._disconnected.pop(service, None) or [f"{self.settings.project}_default"]
        for name in names:
            if name in attached:
                continue
            network = _docker_call(f"find network {name}", self.client.networks.get, name)
            _docker_call(f"reconnect {service} to {name}", network.connect, container, aliases=[service])

    def signal(self, service: str, signum: int) -> None:
        """`docker kill --signal`: what follows (exit, restart) is the process's doing and the restart policy's."""
        self._act(service, "kill", signal=signum)

    def limit(self, service: str, cpus: float | None = None, memory_bytes: int | None = None) -> None:
        """Docker's limits, changed on the running container: CPU through the CFS quota (so that the
        revert can lift it with -1), memory with swap at the same size (no swap to escape into)."""
        update: dict[str, int] = {}
        if cpus is not None:
            update |= {"cpu_period": CPU_PERIOD_US, "cpu_quota": max(1000, round(cpus * CPU_PERIOD_US))}
        if memory_bytes is not None:
            update |= {"mem_limit": memory_bytes, "memswap_limit": memory_bytes}
        self._act(service, "update", **update)

    def unlimit(self, service: str) -> None:
        """The CPU quota back to -1 (unlimited). A memory limit cannot be removed from a running container
        on every engine (20.10 refuses -1 and ignores 0), so it becomes the machine's whole memory: no
        limit in effect. Swap is raised first, as cgroup v1 refuses memory above memory+swap."""
        total = psutil.virtual_memory().total
        self._act(service, "update", cpu_quota=-1, memswap_limit=2 * total)
        self._act(service, "update", mem_limit=total, memswap_limit=2 * total)

    # helpers

    def _compose(self, *args: str) -> None:
        files = [self.settings.compose_file, *self.settings.override_files]
        command = [*self._compose_cmd, "-p", self.settings.project, *_file_options(files), *args]
        shown = " ".join([*self._compose_cmd, *args])
        try:
            result = subprocess.run(
                command,
                env=self.settings.environment(),
                capture_output=True,
                text=True,
                timeout=_COMPOSE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise InfrastructureError(f"`{shown}` did not finish in {_COMPOSE_TIMEOUT_S}s") from error
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-10:]) or "(no output)"
            raise InfrastructureError(
                f"`{shown}` failed (exit {result.returncode}):\n{tail}",
                f"run `{' '.join(command)}` by hand to see the whole output",
            )

    def _project_filter(self) -> dict[str, Any]:
        return {"label": f"{PROJECT_LABEL}={self.settings.project}"}

    def _containers_by_service(self) -> dict[str, Container]:
        filters = {"label": [f"{PROJECT_LABEL}={self.settings.project}", f"{ONEOFF_LABEL}=False"]}
        containers = self.client.containers.list(all=True, filters=filters, ignore_removed=True)
        return {container.labels[SERVICE_LABEL]: container for container in containers}

    def _container(self, service: str) -> Container:
        self.spec.service(service)
        container = self._containers_by_service().get(service)
        if container is None:
            raise InfrastructureError(
                f"service '{service}' has no container in project '{self.settings.project}'",
                "bring the stack up first: failover stack up",
            )
        return container

    def _act(self, service: str, verb: str, **kwargs: Any) -> None:
        """Call the container method named `verb` (kill, stop, ...) on the service's container."""
        container = self._container(service)
        _docker_call(f"{verb} {service}", getattr(container, verb), **kwargs)

    def _project_networks(self) -> list[Network]:
        return self.client.networks.list(filters=self._project_filter())

    def _unpause_all(self) -> None:
        """Frozen containers cannot be stopped; thaw them first."""
        for container in self.client.containers.list(filters={**self._project_filter(), "status": "paused"}):
            _ignore_missing(container.unpause)

    def _sweep(self) -> None:
        """Force-remove every container, network and volume still labelled with the project."""
        for container in self.client.containers.list(all=True, filters=self._project_filter()):
            _ignore_missing(container.remove, force=True, v=True)
        for network in self._project_networks():
            _ignore_missing(network.remove)
        for volume in self.client.volumes.list(filters=self._project_filter()):
            _ignore_missing(volume.remove, force=True)


def _file_options(files: list[Path]) -> list[str]:
    return [option for path in files for option in ("-f", str(path))]


def _service_status(name: str, container: Container | None, endpoints: tuple[str, ...]) -> ServiceStatus:
    if container is None:
        return ServiceStatus(name, "missing", "none", endpoints)
    state = container.attrs["State"]
    return ServiceStatus(
        name=name,
        state=_service_state(state),
        health=_health(state),
        endpoints=endpoints,
        restarts=int(container.attrs.get("RestartCount", 0)),
        ref=container.short_id,
    )


def _service_state(state: dict[str, Any]) -> ServiceState:
    """Docker's status in our terms.

    A container that ended on request (SIGTERM, exit 0) or never ran is "stopped";
    one that crashed or was SIGKILLed is "exited".
    """
    status = state.get("Status", "")
    if status in _DIRECT_STATES:
        return _DIRECT_STATES[status]
    if status == "created" or state.get("ExitCode") in _CLEAN_EXIT_CODES:
        return "stopped"
    return "exited"


def _health(state: dict[str, Any]) -> Health:
    return _HEALTH.get((state.get("Health") or {}).get("Status", ""), "none")


def _docker_call(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except APIError as error:
        raise InfrastructureError(f"cannot {what}: {error.explanation or error}") from error
    except requests.RequestException as error:  # a timeout, or the engine went away
        raise InfrastructureError(f"cannot {what}: Docker did not answer: {error}") from error


def _ignore_missing(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Removal races with Compose's own `down`: an object already gone is fine."""
    try:
        call(*args, **kwargs)
    except NotFound:
        pass

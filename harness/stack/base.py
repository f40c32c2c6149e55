"""The `Stack` interface shared by the compose and local backends.

A stack is the reference ML serving stack (or a user's own Compose file),
reached by the harness only through ports published on 127.0.0.1.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from harness.errors import describe_exception
from harness.stack.spec import (
    DEFAULT_COMPOSE_FILE,
    REPO_ROOT,
    StackSpec,
    load_stack_spec,
)

ServiceState = Literal["running", "paused", "restarting", "stopped", "exited", "missing"]
Health = Literal["healthy", "unhealthy", "starting", "none"]
Backend = Literal["compose", "local"]
BACKENDS: tuple[Backend, ...] = ("compose", "local")
LOOPBACK = "127.0.0.1"
SAVED_LOG_LINES = 20_000
"""Per service, what a run keeps of its stack's logs (a minute under load is a few thousand lines)."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: ServiceState
    health: Health
    endpoints: tuple[str, ...] = ()
    restarts: int = 0
    ref: str = ""
    """Backend handle: a container id (compose) or a pid (local)."""

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "none")


@dataclass(frozen=True)
class StackSettings:
    """Everything that names one running stack: project, files and published ports."""

    project: str = "failover"
    compose_file: Path = DEFAULT_COMPOSE_FILE
    fixtures_dir: Path = REPO_ROOT / "fixtures"
    gateway_port: int = 8080
    stats_port: int = 8404
    toxiproxy_port: int = 8474
    extra_env: Mapping[str, str] = field(default_factory=dict)
    override_files: tuple[Path, ...] = ()
    """Compose files layered on `compose_file` (the harness's generated override), never the user's."""
    reference_image: bool = True
    """Build the reference stack's image before `up` (its services, or the harness's Toxiproxy, run from it)."""
    build: bool = False
    """Let Compose build the stack's own `build:` sections (a user's stack)."""
    profile: str = "tuned"
    """The reference stack's settings: `tuned` or `default` (stock), see harness/stack/profiles.py."""

    def environment(self) -> dict[str, str]:
        """The variables the compose file is interpolated with (the profile's over the caller's)."""
        from harness.stack.profiles import profile_environment

        return {
            **os.environ,
            **profile_environment(self.profile),
            "FAILOVER_GATEWAY_PORT": str(self.gateway_port),
            "FAILOVER_STATS_PORT": str(self.stats_port),
            "FAILOVER_TOXIPROXY_PORT": str(self.toxiproxy_port),
            "FAILOVER_FIXTURES": str(self.fixtures_dir.resolve()),
            "FAILOVER_REGISTRY": str(self.registry_dir),
            **self.extra_env,
        }

    @property
    def registry_dir(self) -> Path:
        """The stack's own model registry, writable by model faults: a copy of `registry_seed` from `up` to `down`."""
        from harness.models.stack_registry import registry_path

        return registry_path(self.project)

    @property
    def registry_seed(self) -> Path:
        """What the stack's registry starts as (never written: each stack writes its copy)."""
        return self.fixtures_dir / "models"

    def provision_registry(self, fresh: bool) -> None:
        """Copy the seed into the stack's registry (`fresh`: even over an existing copy)."""
        from harness.models.stack_registry import provision

        provision(self.project, self.registry_seed, fresh)

    def discard_registry(self) -> None:
        from harness.models.stack_registry import discard

        discard(self.project)

    def load_spec(self) -> StackSpec:
        return load_stack_spec(self.compose_file, self.environment())


@dataclass(frozen=True)
class StackEndpoints:
    """Where the harness reaches the stack, all on loopback."""

    gateway_url: str
    stats_url: str
    toxiproxy_url: str
    published: Mapping[str, tuple[int, ...]]
    """Published host ports per service."""

    def address(self, service: str, index: int = 0) -> tuple[str, int]:
        return LOOPBACK, self.published[service][index]


class Stack(ABC):
    """One running (or not yet running) stack on one backend."""

    backend: ClassVar[Backend]

    def __init__(self, settings: StackSettings | None = None) -> None:
        self.settings = settings or StackSettings()
        self.spec = self.settings.load_spec()

    @abstractmethod
    def up(self, timeout_s: float = 180.0, progress: bool = True) -> None:
        """Start every service and wait until all are healthy; on failure, bring it down and raise."""

    @abstractmethod
    def down(self) -> None:
        """Remove everything the stack started: processes, containers, networks, volumes, ports."""

    @abstractmethod
    def status(self) -> list[ServiceStatus]:
        """State and health of every declared service, in declaration order."""

    @abstractmethod
    def logs(self, service: str, tail: int | None = 50) -> str:
        """The last `tail` lines a service printed (None: all of them)."""

    def save_logs(self, directory: Path, tail: int = SAVED_LOG_LINES) -> list[str]:
        """Write each service's last `tail` lines to `directory/<service>.log`, before the stack goes
        down and takes them along: what the stack itself said during a run is evidence for its
        figures (a slow failover's Sentinel election, a replica's errors). Returns one problem per
        service whose log could not be read; a missing log never fails the run."""
        directory.mkdir(parents=True, exist_ok=True)
        problems = []
        for service in self.spec.services:
            try:
                text = self.logs(service, tail=tail)
            except Exception as error:  # noqa: BLE001  (a log is evidence, not a reason to fail a run)
                problems.append(f"{service}: {describe_exception(error)}")
                continue
            if text:
                (directory / f"{service}.log").write_text(text if text.endswith("\n") else text + "\n")
        return problems

    @abstractmethod
    def kill(self, service: str) -> None:
        """SIGKILL the service. Like `docker kill`, the restart policy does not bring it back."""

    @abstractmethod
    def stop(self, service: str) -> None:
        """SIGTERM, then SIGKILL after the grace period; stays stopped."""

    @abstractmethod
    def start(self, service: str) -> None:
        """Start a stopped or killed service (no-op when running)."""

    @abstractmethod
    def restart(self, service: str) -> None:
        """Stop then start."""

    @abstractmethod
    def pause(self, service: str) -> None:
        """Freeze every process of the service (cgroup freezer / SIGSTOP)."""

    @abstractmethod
    def unpause(self, service: str) -> None:
        """Resume a paused service."""

    @abstractmethod
    def signal(self, service: str, signum: int) -> None:
        """Send a signal to the service's processes (not a stop: the restart policy still applies)."""

    def disconnect(self, service: str) -> None:
        """Take the service off the stack's network (compose only)."""
        from harness.errors import BadInput

        raise BadInput(
            f"network disconnect is not available on the {self.backend} backend",
            "use the compose backend, or a Toxiproxy partition (proxy disabled) instead",
        )

    def reconnect(self, service: str) -> None:
        """Put a disconnected service back on the stack's network (compose only)."""
        self.disconnect(service)

    def limit(self, service: str, cpus: float | None = None, memory_bytes: int | None = None) -> None:
        """Squeeze the service's CPU (in CPUs) and/or memory (compose only: container limits)."""
        from harness.errors import BadInput

        raise BadInput(
            f"CPU and memory limits are not available on the {self.backend} backend",
            "use the compose backend (Docker applies them to a running container)",
        )

    def unlimit(self, service: str) -> None:
        """Lift every CPU and memory limit of the service (compose only)."""
        self.limit(service)

    def endpoints(self) -> StackEndpoints:
        published = {
            name: tuple(port.host_port for port in service.ports) for name, service in self.spec.services.items()
        }
        base = f"http://{LOOPBACK}"
        return StackEndpoints(
            gateway_url=f"{base}:{self.settings.gateway_port}",
            stats_url=f"{base}:{self.settings.stats_port}",
            toxiproxy_url=f"{base}:{self.settings.toxiproxy_port}",
            published=published,
        )

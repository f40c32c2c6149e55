"""Waiting for a stack to become healthy, with a live progress table; readiness checked from the host.

Docker runs a container's healthcheck with `runc exec` every `interval`; on a small machine each
exec is a burst of CPU that shows in the stack's tail latency (compose p99 at 200 req/s: 40-150 ms
with the reference stack's former 5 s interval, about 5 ms on the local backend). Docker 20.10 has
no `start_interval`, so a long interval would also hold every container in "starting" until its
first probe. A compose file that declares `x-readiness: host` (the reference stack does) gets its
readiness from the harness instead: while Docker has not probed a container yet, the service's own
healthcheck is run on the host by the local backend's rules (hostnames on loopback, through the
published ports), and its first pass makes that container instance healthy. Docker's verdict wins
as soon as it has one. A stack without that key (a user's) is judged by Docker's health alone, so
the harness never depends on a check its author did not write or did not mean to run on the host.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.errors import MissingBinary, StackNotHealthy
from harness.stack.base import ServiceStatus
from harness.stack.local_plan import host_healthcheck
from harness.stack.spec import StackSpec

_HEALTH_STYLE = {"healthy": "green", "none": "green", "starting": "yellow", "unhealthy": "red"}


def status_table(statuses: list[ServiceStatus], title: str = "") -> Table:
    table = Table(title=title or None, show_edge=False, pad_edge=False)
    for column in ("service", "state", "health", "endpoints", "restarts"):
        table.add_column(column)
    for status in statuses:
        style = _HEALTH_STYLE.get(status.health, "white") if status.state == "running" else "red"
        table.add_row(
            status.name,
            f"[{style}]{status.state}[/]",
            f"[{style}]{status.health}[/]",
            ", ".join(status.endpoints),
            str(status.restarts),
        )
    return table


def wait_until_ready(
    read_status: Callable[[], list[ServiceStatus]],
    timeout_s: float,
    progress: bool,
    describe_failure: Callable[[list[ServiceStatus]], str],
    poll_s: float = 0.2,
) -> list[ServiceStatus]:
    """Poll until every service is running and healthy; raise `StackNotHealthy` at the deadline."""
    deadline = time.monotonic() + timeout_s
    started = time.monotonic()
    console = Console(stderr=True)
    with Live(console=console, transient=True, auto_refresh=False) as live:
        while True:
            statuses = read_status()
            if progress and console.is_terminal:
                elapsed = time.monotonic() - started
                live.update(status_table(statuses, f"waiting for the stack ({elapsed:.0f}s)"), refresh=True)
            if all(status.ready for status in statuses):
                return statuses
            if time.monotonic() >= deadline:
                raise StackNotHealthy(
                    f"the stack was not healthy after {timeout_s:.0f}s: {describe_failure(statuses)}",
                    "the stack was brought down again; read the service's log above, fix it, and retry",
                )
            time.sleep(poll_s)


def not_ready_summary(statuses: list[ServiceStatus], logs: Callable[[str], str]) -> str:
    """One line per service that is not ready, with the tail of its log."""
    lines = []
    for status in statuses:
        if not status.ready:
            tail = logs(status.name).strip().splitlines()[-5:]
            excerpt = "\n      ".join(tail) or "(no output)"
            lines.append(f"\n  {status.name}: {status.state}/{status.health}\n      {excerpt}")
    return "".join(lines)


HOST_READINESS_KEY = "x-readiness"
HOST_READINESS_VALUE = "host"
_RETRY_AFTER_S = 0.5
"""A failed host check of one container is not repeated sooner than this (a status poll runs every 0.2 s)."""


def opts_in(compose_file: Path) -> bool:
    """Whether the compose file asks for readiness from the host (`x-readiness: host` at its top)."""
    try:
        raw = yaml.safe_load(compose_file.read_text())
    except (OSError, yaml.YAMLError):
        return False  # the stack's loader reports a file it cannot read
    return isinstance(raw, dict) and raw.get(HOST_READINESS_KEY) == HOST_READINESS_VALUE


class HostReadiness:
    """Readiness of containers Docker has not probed yet, from their healthcheck run on the host.

    `commands` holds each opted-in service's host command and timeout. A pass is remembered per
    container instance (its id and start time), so a restarted container is checked afresh and a
    ready one costs nothing more.
    """

    def __init__(self, commands: Mapping[str, tuple[list[str], float]]) -> None:
        self._commands = dict(commands)
        self._passed: set[tuple[str, str]] = set()
        self._tried: dict[tuple[str, str], float] = {}

    @classmethod
    def for_stack(cls, spec: StackSpec) -> HostReadiness:
        """The host checks of a stack that opted in (`x-readiness: host`); none otherwise. A service
        whose check needs a program the host lacks keeps Docker's health."""
        commands: dict[str, tuple[list[str], float]] = {}
        for name, service in spec.services.items() if opts_in(spec.compose_file) else ():
            try:
                argv = host_healthcheck(spec, service)
            except MissingBinary:
                continue
            if argv is not None and service.healthcheck is not None:
                commands[name] = (argv, service.healthcheck.timeout_s)
        return cls(commands)

    def apply(self, statuses: list[ServiceStatus], instances: Mapping[str, str]) -> list[ServiceStatus]:
        """`statuses` with "starting" turned "healthy" where the host check passed for that instance."""
        due = [
            (status.name, instances[status.name])
            for status in statuses
            if self._needs_check(status, instances.get(status.name))
        ]
        if due:
            with ThreadPoolExecutor(max_workers=len(due)) as pool:
                list(pool.map(self._check, due))
        return [
            replace(status, health="healthy")
            if status.health == "starting" and (status.name, instances.get(status.name, "")) in self._passed
            else status
            for status in statuses
        ]

    def _needs_check(self, status: ServiceStatus, instance: str | None) -> bool:
        if status.name not in self._commands or instance is None:
            return False
        if status.state != "running" or status.health != "starting" or (status.name, instance) in self._passed:
            return False
        return time.monotonic() - self._tried.get((status.name, instance), float("-inf")) >= _RETRY_AFTER_S

    def _check(self, key: tuple[str, str]) -> None:
        self._tried[key] = time.monotonic()
        argv, timeout_s = self._commands[key[0]]
        try:
            passed = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False).returncode == 0
        except (subprocess.TimeoutExpired, OSError):
            passed = False
        if passed:
            self._passed.add(key)

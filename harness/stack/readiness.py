"""Waiting for a stack to become healthy, with a live progress table."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.errors import StackNotHealthy
from harness.stack.base import ServiceStatus

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

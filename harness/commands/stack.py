"""`failover stack ...`: bring the reference stack up and down, inspect it, act on its services."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from harness.commands.options import (
    REPORTS_DIR,
    BackendOption,
    GatewayPort,
    ProfileOption,
    ProjectOption,
    ServiceArgument,
    StatsPort,
    ToxiproxyPort,
    console,
)
from harness.stack import Backend, Stack, StackSettings, open_stack
from harness.stack.profiles import DEFAULT_PROFILE
from harness.stack.readiness import status_table

stack_app = typer.Typer(help="Bring the reference stack up and down, inspect it, act on its services.", no_args_is_help=True)


def _stack(
    backend: Backend, project: str, gateway: int = 8080, stats: int = 8404, toxiproxy: int = 8474, profile: str = DEFAULT_PROFILE
) -> Stack:
    settings = StackSettings(
        project=project, gateway_port=gateway, stats_port=stats, toxiproxy_port=toxiproxy, profile=profile
    )
    return open_stack(backend, settings)


@stack_app.command("up")
def stack_up(
    backend: BackendOption = "local",
    project: ProjectOption = "failover",
    gateway_port: GatewayPort = 8080,
    stats_port: StatsPort = 8404,
    toxiproxy_port: ToxiproxyPort = 8474,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be healthy.")] = 180.0,
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Start the stack and wait until every service is healthy and the gateway routes to its whole pool."""
    from harness.targets.reference import ReferenceTarget

    stack = _stack(backend, project, gateway_port, stats_port, toxiproxy_port, profile)
    ReferenceTarget(stack.settings).bring_up(stack, progress=True, timeout_s=timeout)
    console.print(status_table(stack.status(), f"stack '{project}' is up ({backend}, profile {profile})"))
    endpoints = stack.endpoints()
    console.print(f"gateway {endpoints.gateway_url}  stats {endpoints.stats_url}/stats  toxiproxy {endpoints.toxiproxy_url}")


@stack_app.command("down")
def stack_down(backend: BackendOption = "local", project: ProjectOption = "failover") -> None:
    """Stop and remove everything the stack started."""
    _stack(backend, project).down()
    console.print(f"stack '{project}' is down ({backend})")


@stack_app.command("status")
def stack_status(
    backend: BackendOption = "local",
    project: ProjectOption = "failover",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """State, health and published endpoints of every service."""
    statuses = _stack(backend, project).status()
    if as_json:
        print(json.dumps([dataclasses.asdict(status) for status in statuses], indent=2))
    else:
        console.print(status_table(statuses, f"stack '{project}' ({backend})"))


@stack_app.command("demo")
def stack_demo(
    backend: BackendOption = "local",
    project: ProjectOption = "failover",
    requests: Annotated[int, typer.Option(help="Predictions to send through the gateway.")] = 200,
    reports_dir: Annotated[Path, typer.Option(help="Where the run's folder is written.")] = REPORTS_DIR,
) -> None:
    """Bring the stack up, send predictions through the gateway, show what served them, bring it down."""
    from harness.demo import run_demo

    failed = run_demo(_stack(backend, project), requests, console, reports_dir)
    if failed:
        console.print(f"[red]{failed} requests failed[/]")
        raise typer.Exit(1)


def _service_command(operation: str, summary: str) -> None:
    def command(service: ServiceArgument, backend: BackendOption = "local", project: ProjectOption = "failover") -> None:
        getattr(_stack(backend, project), operation)(service)
        console.print(f"{operation}: {service}")

    command.__doc__ = summary
    stack_app.command(operation)(command)


for _operation, _summary in (
    ("kill", "SIGKILL a service (it stays down, like `docker kill`)."),
    ("stop", "Stop a service gracefully."),
    ("start", "Start a stopped or killed service."),
    ("restart", "Restart a service."),
    ("pause", "Freeze a service (it hangs without dying)."),
    ("unpause", "Resume a paused service."),
    ("disconnect", "Take a service off the stack network (compose)."),
    ("reconnect", "Put a disconnected service back on the network (compose)."),
):
    _service_command(_operation, _summary)

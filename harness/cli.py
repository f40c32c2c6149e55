"""The `failover` command.

Exit codes: 0 success, 1 an SLO missed or a run aborted, 2 bad input or an
infrastructure error. Every `HarnessError` becomes one `ERROR:` line and one
`TIP:` line here, and nowhere else.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from typer.exceptions import TyperException

from harness import __version__
from harness.errors import EXIT_BAD_INPUT, HarnessError
from harness.stack.spec import REPO_ROOT
from harness.stack import Backend, Stack, StackSettings, open_stack
from harness.stack.readiness import status_table

app = typer.Typer(help="Prove whether an ML serving system really fails over fast.", no_args_is_help=True)
stack_app = typer.Typer(help="Bring the reference stack up and down, inspect it, act on its services.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
console = Console()
REPORTS_DIR = REPO_ROOT / "reports"

BackendOption = Annotated[
    Backend,
    typer.Option("--backend", "-b", envvar="FAILOVER_BACKEND", help="compose (Docker) or local (host processes)."),
]
ProjectOption = Annotated[str, typer.Option("--project", "-p", envvar="FAILOVER_PROJECT", help="Stack name.")]
GatewayPort = Annotated[int, typer.Option(envvar="FAILOVER_GATEWAY_PORT", help="Gateway port on 127.0.0.1.")]
StatsPort = Annotated[int, typer.Option(envvar="FAILOVER_STATS_PORT", help="HAProxy stats/Prometheus port.")]
ToxiproxyPort = Annotated[int, typer.Option(envvar="FAILOVER_TOXIPROXY_PORT", help="Toxiproxy API port.")]
ServiceArgument = Annotated[str, typer.Argument(help="A service of the stack, e.g. model-a.")]


def _version(value: bool) -> None:
    if value:
        console.print(f"failover-harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """failover-harness: faults, load and measured recovery for ML serving stacks."""


def _stack(backend: Backend, project: str, gateway: int = 8080, stats: int = 8404, toxiproxy: int = 8474) -> Stack:
    settings = StackSettings(project=project, gateway_port=gateway, stats_port=stats, toxiproxy_port=toxiproxy)
    return open_stack(backend, settings)


@stack_app.command("up")
def stack_up(
    backend: BackendOption = "local",
    project: ProjectOption = "failover",
    gateway_port: GatewayPort = 8080,
    stats_port: StatsPort = 8404,
    toxiproxy_port: ToxiproxyPort = 8474,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be healthy.")] = 180.0,
) -> None:
    """Start the stack and wait until every service is healthy."""
    stack = _stack(backend, project, gateway_port, stats_port, toxiproxy_port)
    stack.up(timeout_s=timeout)
    console.print(status_table(stack.status(), f"stack '{project}' is up ({backend})"))
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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (testable without a subprocess)."""
    try:
        result = app(args=argv, prog_name="failover", standalone_mode=False)
    except HarnessError as error:
        errors = Console(stderr=True, soft_wrap=True, highlight=False)
        errors.print(f"[bold red]ERROR:[/] {error.message}")
        if error.tip:
            errors.print(f"[bold]TIP:[/] {error.tip}")
        return error.exit_code
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort:
        return 130
    except TyperException as error:  # usage errors: unknown option, bad value
        show = getattr(error, "show", None)
        show() if show else print(f"ERROR: {error.format_message()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()

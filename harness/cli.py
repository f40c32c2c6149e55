"""The `failover` command.

Exit codes: 0 success, 1 an SLO missed or a run aborted, 2 bad input or an
infrastructure error. Every `HarnessError` becomes one `ERROR:` line and one
`TIP:` line here, and nowhere else.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from harness import __version__
from harness.commands.baseline import baseline_app
from harness.commands.compare import register_compare_command
from harness.commands.fault_types import fault_types_command
from harness.commands.gameday import register_gameday_commands
from harness.commands.init import init_command
from harness.commands.inject import register_inject_commands
from harness.commands.load_worker import load_worker_command
from harness.commands.monkey import monkey_command
from harness.commands.run import register_run_commands
from harness.commands.options import console
from harness.commands.report import report_command
from harness.commands.scenarios import register_scenario_commands
from harness.commands.stack import stack_app
from harness.commands.targets import targets_command
from harness.errors import EXIT_BAD_INPUT, HarnessError

app = typer.Typer(help="Prove whether an ML serving system really fails over fast.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(baseline_app, name="baseline")
register_run_commands(app)
register_scenario_commands(app)
app.command("targets")(targets_command)
app.command("init")(init_command)
app.command("fault-types")(fault_types_command)
register_inject_commands(app)
app.command("monkey")(monkey_command)
app.command("load-worker")(load_worker_command)
app.command("report")(report_command)
register_gameday_commands(app)
register_compare_command(app)


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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (testable without a subprocess)."""
    try:
        result = app(args=argv, prog_name="failover", standalone_mode=False)
    except HarnessError as error:
        errors = Console(stderr=True, soft_wrap=True, highlight=False)
        errors.print(f"[bold red]ERROR:[/] {escape(error.message)}")
        if error.tip:
            errors.print(f"[bold]TIP:[/] {escape(error.tip)}")
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

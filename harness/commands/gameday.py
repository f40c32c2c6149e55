"""`failover note | abort | confirm | pause | resume | dashboard | retro`: a game day from any terminal.

The first five reach a running `failover run` on this machine through its
control channel (`harness/gameday/control.py`): the newest one, or the one
`--run RUN_DIR` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.commands.options import console
from harness.gameday.session import current_user

RunDirOption = Annotated[
    Path | None, typer.Option("--run", help="The folder of the run to reach (default: the newest running run).")
]
AuthorOption = Annotated[str | None, typer.Option(help="Who says it (default: $USER).")]
DashboardOption = Annotated[
    bool, typer.Option("--dashboard", help="Print the address of a live dashboard in the browser (127.0.0.1).")
]
DashboardPortOption = Annotated[
    int, typer.Option(help="The port of the run's dashboard, metrics and control channel on 127.0.0.1 (0: any free one).")
]
ConfirmGatesOption = Annotated[
    bool, typer.Option("--confirm-gates", help="Confirm every runbook gate at once (unattended runs, CI).")
]


def _send(command: str, run: Path | None, **body: object) -> None:
    from harness.gameday.control import find_run, send

    address = find_run(run)
    console.print(f"{send(address, command, **body)}  [dim]({address.run_dir})[/]", soft_wrap=True)


def note_command(
    text: Annotated[str, typer.Argument(help="The note, journaled with the time and its author.")],
    run: RunDirOption = None,
    author: AuthorOption = None,
) -> None:
    """Add a note to a running run's timeline (journal, report, retrospective)."""
    _send("note", run, text=text, author=author or current_user())


def abort_command(run: RunDirOption = None, author: AuthorOption = None) -> None:
    """Abort a running run as Ctrl-C does: every fault reverted, verdict 'aborted'."""
    _send("abort", run, author=author or current_user())


def confirm_command(run: RunDirOption = None, author: AuthorOption = None) -> None:
    """Confirm the runbook gate a running run waits at: its timeline goes on."""
    _send("confirm", run, author=author or current_user())


def pause_command(run: RunDirOption = None, author: AuthorOption = None) -> None:
    """Stop a running run's timeline clock (faults in effect stay; later ones wait): `failover resume` goes on."""
    _send("pause", run, author=author or current_user())


def resume_command(run: RunDirOption = None, author: AuthorOption = None) -> None:
    """Start a paused timeline again."""
    _send("resume", run, author=author or current_user())


def dashboard_command(run: RunDirOption = None) -> None:
    """The address of a running run's live dashboard (open it in a browser on this machine)."""
    from harness.gameday.control import find_run

    address = find_run(run)
    console.print(f"{address.url}/?token={address.token}", soft_wrap=True, highlight=False)


def retro_command(
    run_dir: Annotated[Path, typer.Argument(help="A run's folder (reports/<time>-<scenario>).")],
) -> None:
    """Write the retrospective of a run: retro.md and retro.html in its folder."""
    from harness.gameday.retro import write_retro

    for path in write_retro(run_dir):
        console.print(f"retrospective: {path}")


def register_gameday_commands(app: typer.Typer) -> None:
    for name, command in (
        ("note", note_command),
        ("abort", abort_command),
        ("confirm", confirm_command),
        ("pause", pause_command),
        ("resume", resume_command),
        ("dashboard", dashboard_command),
        ("retro", retro_command),
    ):
        app.command(name)(command)

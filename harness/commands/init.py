"""`failover init --compose FILE`: a starter target and two starter scenarios from a compose file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.commands.options import console


def init_command(
    compose: Annotated[Path, typer.Option("--compose", help="The stack's Compose file (read, never edited).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the target and scenario files.")] = Path("."),
    name: Annotated[Optional[str], typer.Option(help="Target name: lowercase, digits, dashes (default: the compose folder).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Write <name>.target.yaml and two starter scenarios; lines marked '# guessed:' need a review."""
    from harness.targets.init_target import write_starter

    for path in write_starter(compose, out, name=name, force=force):
        console.print(f"wrote {path}")
    console.print("next: review the lines marked '# guessed:', then `failover validate` the scenarios")

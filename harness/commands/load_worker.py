"""`failover load-worker`: one more Locust worker for a distributed run, e.g. on another machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def load_worker_command(
    master_host: Annotated[str, typer.Option(help="Host or address of the run's Locust master.")],
    master_port: Annotated[int, typer.Option(min=1, max=65535, help="The master's port (the scenario's load.master_port).")],
    workdir: Annotated[
        Path, typer.Option(help="The run's workdir (shared with the master's machine): settings in, records out.")
    ],
) -> None:
    """Become a Locust worker of a running scenario whose `load.remote_workers` counts this one.

    Runs the harness's locustfile with the settings the master wrote to <workdir>/locust-worker.json
    and records every request in <workdir>/records-<host>-<pid>.jsonl, where the run merges it."""
    from harness.load.locust_worker import exec_worker

    exec_worker(workdir, master_host, master_port)

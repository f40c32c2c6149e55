"""`failover load-worker`: one more Locust worker for a distributed run, e.g. on another machine."""

from __future__ import annotations

from typing import Annotated

import typer


def load_worker_command(
    master_host: Annotated[str, typer.Option(help="Host or address of the run's Locust master.")],
    master_port: Annotated[int, typer.Option(min=1, max=65535, help="The master's port (the scenario's load.master_port).")],
) -> None:
    """Become a Locust worker of a running scenario whose `load.remote_workers` counts this one.

    No shared folder: the master sends the run's settings and payload file when its test starts.

    Every request's record goes back to the master, into the run's workdir (records-<host>_<id>.jsonl)."""
    from harness.load.locust_worker import exec_worker

    exec_worker(master_host, master_port)

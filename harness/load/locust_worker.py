"""A Locust worker of a distributed run: its command line and environment, and `failover load-worker`.

The harness starts `workers` of these next to the master (`LocustRun`); more can join from other
machines with `failover load-worker` (docs/distributed-load.md). Every worker runs the harness's
locustfile and takes the run's settings from its master, over Locust's own connection (see
locustfile.py). A worker started here writes its records into the run's workdir itself; one
started elsewhere sends them to the master, which writes them there. `LocustRun.records()`
merges them all.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from harness.errors import BadInput

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
RECORDS_GLOB = "records*.jsonl"
"""Every Locust records file in a workdir: `records.jsonl` of one process, `records-<worker>.jsonl` of workers."""
MASTER_CHECK_TIMEOUT_S = 5.0


def worker_command(master_host: str, master_port: int) -> list[str]:
    """`python -m locust` as a worker of the master at `master_host:master_port`."""
    return [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"),
        *("--master-host", master_host, "--master-port", str(master_port)),
    ]


def locust_env(own: Mapping[str, str]) -> dict[str, str]:
    """The environment of a Locust process: the caller's without LOCUST_* (Locust reads options
    from those) and FAILOVER_* (the locustfile's settings: only `own` gives them), plus `own`."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(("LOCUST_", "FAILOVER_"))}
    return inherited | dict(own)


def exec_worker(master_host: str, master_port: int) -> None:
    """Becomes a Locust worker of the master at `master_host:master_port`, which sends it the run's
    settings with the test's start and receives its records."""
    _check_master(master_host, master_port)
    os.chdir(LOCUSTFILE.parent)  # keeps Locust from reading a locust.conf / pyproject.toml of the caller's
    command = worker_command(master_host, master_port)
    os.execve(command[0], command, locust_env({}))


def _check_master(host: str, port: int) -> None:
    """Fails at once where Locust would retry quietly for minutes: nothing listens at `host:port`."""
    try:
        socket.create_connection((host, port), timeout=MASTER_CHECK_TIMEOUT_S).close()
    except OSError as error:
        raise BadInput(
            f"no Locust master answers at {host}:{port} ({error.strerror or error})",
            "start the run first (its master listens from the start until all its workers have joined); a scenario"
            " for workers on other machines sets load.remote_workers, load.master_bind: 0.0.0.0 and load.master_port",
        ) from None

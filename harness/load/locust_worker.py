"""A Locust worker of a distributed run: its command line, its settings, its records file.

The harness starts `workers` of these next to the master (`LocustRun`); more can join
from other machines with `failover load-worker` (docs/distributed-load.md). Every worker
runs the harness's locustfile with the run's settings, which the master's run writes to
`<workdir>/locust-worker.json`, and writes its own records file into the workdir, where
`LocustRun.records()` merges them.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from harness.errors import BadInput

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SETTINGS_FILE = "locust-worker.json"
RECORDS_GLOB = "records*.jsonl"
"""Every Locust records file in a workdir: `records.jsonl` of one process, `records-<worker>.jsonl` of workers."""


def worker_command(master_host: str, master_port: int) -> list[str]:
    """`python -m locust` as a worker of the master at `master_host:master_port`."""
    return [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"),
        *("--master-host", master_host, "--master-port", str(master_port)),
    ]


def worker_env(settings: dict[str, str], records_path: Path) -> dict[str, str]:
    """The environment of a worker: the caller's without LOCUST_* (Locust reads options from
    those) plus the run's FAILOVER_* settings and this worker's own records file."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("LOCUST_")}
    return inherited | settings | {"FAILOVER_RECORDS": str(records_path)}


def write_settings(workdir: Path, settings: dict[str, str]) -> Path:
    path = workdir / SETTINGS_FILE
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path


def read_settings(workdir: Path) -> dict[str, str]:
    path = workdir / SETTINGS_FILE
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(
            f"no {SETTINGS_FILE} in {workdir}: it is not the workdir of a distributed Locust run",
            "give --workdir the run's workdir (shared with the master's machine); the master writes it when it starts",
        ) from None
    except ValueError as error:
        raise BadInput(f"{path} is not JSON: {error}", "let the master's run write it again") from None
    return {str(name): str(value) for name, value in settings.items()}


def remote_records_path(workdir: Path) -> Path:
    """A records file no other worker writes: one per host and process."""
    return workdir / f"records-{socket.gethostname()}-{os.getpid()}.jsonl"


def exec_worker(workdir: Path, master_host: str, master_port: int) -> None:
    """Becomes a Locust worker of the run in `workdir` (same pid: its records file names it)."""
    workdir = workdir.resolve()
    env = worker_env(read_settings(workdir), remote_records_path(workdir))
    os.chdir(workdir)  # keeps Locust from reading a locust.conf / pyproject.toml of the caller's
    command = worker_command(master_host, master_port)
    os.execve(command[0], command, env)

"""The audit trail: one JSON line per fault injected or reverted, by a run, by hand or by `heal`.

Who (user, host, pid, command line), what (type, target, parameters), from
where (the run or `inject` that owns the fault) and how it went. The file
lives in the state directory, appended and fsynced line by line, so it
survives the process that wrote it; `failover audit` shows it.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from harness.stack.state import private_dir, state_root

Action = Literal["inject", "revert"]


def audit_file() -> Path:
    return private_dir(state_root()) / "audit.jsonl"


def operator() -> str:
    """'user@host' of this process."""
    try:
        user = getpass.getuser()
    except OSError:
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def record(action: Action, fault: dict[str, Any], source: str, outcome: str = "ok") -> None:
    """Append one line: `fault` is the fault's spec as journaled, `source` the run id (or 'heal')."""
    entry = {
        "t": time.time(),
        "action": action,
        "by": operator(),
        "pid": os.getpid(),
        "command": " ".join(sys.argv),
        "source": source,
        "type": fault.get("action"),
        "target": fault.get("target"),
        "parameters": {k: v for k, v in fault.items() if k not in ("action", "target", "at", "duration")},
        "outcome": outcome,
    }
    with open(audit_file(), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def entries(since: float = 0.0) -> Iterator[dict[str, Any]]:
    """Every complete line written at or after `since` (epoch seconds), oldest first."""
    path = audit_file()
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if entry.get("t", 0) >= since:
            yield entry

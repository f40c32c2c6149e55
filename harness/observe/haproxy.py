"""HAProxy's own view of its servers, read from the stats CSV on loopback."""

from __future__ import annotations

import csv
import io

import httpx

BACKEND = "models"


def server_states(stats_url: str, backend: str = BACKEND, timeout_s: float = 1.0) -> dict[str, str]:
    """{'model-a': 'UP', 'model-b': 'DOWN', ...} for the servers of `backend`."""
    response = httpx.get(f"{stats_url}/stats;csv;norefresh", timeout=timeout_s)
    response.raise_for_status()
    rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
    return {
        row["svname"]: row["status"].split()[0]
        for row in rows
        if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
    }

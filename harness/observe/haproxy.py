"""HAProxy's own view of its servers, read from the stats CSV on loopback."""

from __future__ import annotations

import csv
import io

import httpx

BACKEND = "models"
"""The reference stack's pool of model servers."""


def server_states(
    stats_url: str, backend: str = BACKEND, timeout_s: float = 1.0, client: httpx.Client | None = None
) -> dict[str, str]:
    """{'model-a': 'UP', 'model-b': 'DOWN', ...} for the servers of `backend`.

    Pollers pass a long-lived `client`: a new one per call costs milliseconds of CPU (TLS set-up).
    """
    url = f"{stats_url}/stats;csv;norefresh"
    response = client.get(url, timeout=timeout_s) if client else httpx.get(url, timeout=timeout_s)
    response.raise_for_status()
    rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
    return {
        row["svname"]: row["status"].split()[0]
        for row in rows
        if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
    }

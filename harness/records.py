"""The one request-record type: a row per client request, from the probes and from Locust alike.

Its fields are the columns of the records frame scoring works on
(`scoring.COLUMNS`); Locust's worker writes the same fields as plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One client request, as DESIGN.md defines it."""

    sent_at: float
    latency_s: float
    ok: bool
    status: int
    error: str
    served_by: str
    model_version: str
    degraded: bool
    request_id: str
    prediction: int | None
    label: int | None
    source: str = "probe"

"""What a run produced: the contract between scoring, the reports and CI.

`result.json` is written from `RunResult` by `report/json_report.py` (fault
window fields flattened into each fault, `pass` for each SLO); its
`schema_version` changes whenever a field's meaning does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
Verdict = Literal["pass", "fail", "aborted", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SLOResult(_Model):
    name: str
    """e.g. 'rto', 'availability', 'latency_p95', 'accuracy'."""
    target: float
    measured: float | None
    """None: could not be measured (for RTO: never recovered)."""
    passed: bool
    unit: Literal["s", "fraction"]


class FaultWindow(_Model):
    """A fault as it happened: written by the runner from the journal."""

    index: int
    type: str
    target: str
    parameters: dict[str, float | str | None] = {}
    """The fault's settings; numbers are durations in seconds (latency, jitter, timeout)."""
    injected_at: float
    """Epoch seconds when the injection completed (the fault window starts)."""
    reverted_at: float | None
    """Epoch seconds when the revert completed; None if never reverted."""
    inject_call_s: float | None = None


class FaultScore(_Model):
    fault: FaultWindow
    rto_s: float | None
    rto_bracket_s: tuple[float, float] | None
    """[lower, upper]: the true recovery moment lies between these (sampling resolution)."""
    rto_resolution_s: float
    """max(bucket, 1 / probe rate): what the RTO figure can resolve."""
    ttd_s: float | None
    """Injection until the stack's own signal (HAProxy DOWN) said the target was unhealthy."""
    quality_rto_s: float | None = None
    lost_writes: int | None = None
    """Acknowledged predictions missing from the store after recovery; None when it was not read back."""
    rpo_s: float | None = None
    """Injection minus the oldest lost acknowledgement (0 when none was lost); None when not read back."""
    failed_requests: int
    requests: int
    availability: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    slos: list[SLOResult]

    @property
    def passed(self) -> bool:
        return all(slo.passed for slo in self.slos)


class RequestTotals(_Model):
    total: int
    ok: int
    failed: int
    probe: int
    locust: int


class RunResult(_Model):
    schema_version: int = SCHEMA_VERSION
    scenario: str
    description: str = ""
    backend: str
    verdict: Verdict
    reason: str = ""
    """Why the verdict is not 'pass' (first missed SLO, abort cause, error)."""
    trial: int = 1
    started_at: float
    finished_at: float
    steady_state_ok: bool
    faults: list[FaultScore]
    requests: RequestTotals

"""The scenario model: one failure story, validated before anything runs.

Durations are written like `250ms`, `30s`, `1m`; fractions like `99.9%`.
`load_scenario` (YAML loading with file:line errors) lives in
`scenario_loader.py`; this module is only the typed model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """'250ms' -> 0.25; bare numbers are seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 250ms, 30s or 2m")
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a duration; write it like 250ms, 30s or 2m")
    return float(match["value"]) * _UNIT_SECONDS[match["unit"]]


def parse_fraction(value: Any) -> float:
    """'99.9%' -> 0.999; bare numbers must already be fractions in [0, 1]."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage like 99.9%")
    text = str(value).strip()
    try:
        number = round(float(text[:-1]) / 100, 12) if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"'{value}' is not a percentage; write it like 99.9%") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"'{value}' is not between 0% and 100%")
    return number


def normalize_hop(target: str) -> str:
    """'gateway->model-a' -> 'gateway-model-a', the Toxiproxy proxy's name."""
    return target.replace("->", "-").strip()


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]
MIN_PROBES_PER_BUCKET = 5
FaultAction = Literal["kill", "stop", "pause", "latency", "timeout", "partition"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StackRef(_Strict):
    backend: Literal["local", "compose"] | None = None
    """None: the target's own default (local for the reference stack, compose for a user's)."""


class Load(_Strict):
    users: int = Field(10, ge=0, description="closed-loop Locust users (0: probes only)")
    rate: float = Field(50.0, ge=0, description="Locust's total target rate, requests/s")
    payloads: Path | None = None
    """Overrides the target's `entry.payloads`; relative to the scenario file."""
    probe_rate: float = Field(100.0, gt=0, le=1000, description="open-loop probe rate, requests/s")
    probe_timeout: Duration = 1.0
    duration: Duration | None = None
    """Load time after the steady-state check (the timeline's clock; faults start before it);
    default and minimum: until the last revert plus `observe_after`."""


class SteadyState(_Strict):
    warmup: Duration = 3.0
    """Load runs this long before the steady-state check starts (discarded)."""
    check: Duration = 3.0
    """Window before the first fault (and at the end) that must meet the SLOs."""


class Fault(_Strict):
    at: Duration
    """Seconds after the steady-state check ended."""
    action: FaultAction
    target: str
    """A service (kill/stop/pause) or a Toxiproxy hop `from->to` or proxy name (latency/timeout/partition)."""
    duration: Duration | None = None
    """Revert after this long; None: revert at the end of the run."""
    latency: Duration | None = None
    jitter: Duration | None = None
    timeout: Duration | None = None
    """For `timeout`: close the connection after this long; 0 = black hole until reverted."""

    @model_validator(mode="after")
    def _parameters_fit_the_action(self) -> Fault:
        needed = {"latency": ("latency",), "timeout": ("timeout",)}.get(self.action, ())
        allowed = {"latency": ("latency", "jitter"), "timeout": ("timeout",)}.get(self.action, ())
        # Custom error types carry the parameter, so the loader can point at its line.
        context = {"action": self.action, "allowed": ", ".join(allowed)}
        for name in needed:
            if getattr(self, name) is None:
                raise PydanticCustomError(
                    "fault_parameter_missing", "action '{action}' needs '{parameter}'", {**context, "parameter": name}
                )
        for name in ("latency", "jitter", "timeout"):
            if getattr(self, name) is not None and name not in allowed:
                raise PydanticCustomError(
                    "fault_parameter_not_allowed",
                    "'{parameter}' does not apply to action '{action}'",
                    {**context, "parameter": name},
                )
        return self


class LatencySLO(_Strict):
    p50: Duration | None = None
    p95: Duration | None = None
    p99: Duration | None = None


class SLOs(_Strict):
    rto: Duration | None = None
    rpo: Duration | None = None
    lost_writes: int | None = Field(None, ge=0)
    """Acknowledged writes a fault may lose; None: 0 whenever the store was read back."""
    availability: Fraction | None = None
    """Fraction of requests ok within each fault window (and the healthy-bucket threshold)."""
    latency: LatencySLO = LatencySLO()
    accuracy: Fraction | None = None
    bucket: Duration = Field(0.25, gt=0)
    stable_for: Duration = Field(5.0, gt=0)


class StopCondition(_Strict):
    availability_below: Fraction
    for_: Duration = Field(alias="for")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    target: Path | None = None
    """A target file, relative to the scenario file; None: the reference stack."""
    stack: StackRef = StackRef()
    load: Load = Load()
    steady_state: SteadyState = SteadyState()
    timeline: list[Fault] = Field(min_length=1)
    slos: SLOs = SLOs()
    stop_conditions: list[StopCondition] = []
    observe_after: Duration = 10.0
    trials: int = Field(1, ge=1, le=100)

    @model_validator(mode="after")
    def _buckets_hold_enough_probes(self) -> Scenario:
        # An RTO bucket with a probe or two is judged on noise; empty ones never recover.
        if self.load.probe_rate * self.slos.bucket < MIN_PROBES_PER_BUCKET:
            raise ValueError(
                f"load.probe_rate x slos.bucket must be at least {MIN_PROBES_PER_BUCKET} probes per bucket "
                f"(now {self.load.probe_rate * self.slos.bucket:g}): raise probe_rate or widen the bucket"
            )
        return self

    def end_of_faults(self) -> float:
        """Seconds after the steady-state check of the last timed event: a timed fault's revert,
        or the injection of a fault without `duration` (which lasts until the load ends,
        `observe_after` later at the earliest)."""
        return max(fault.at + (fault.duration or 0.0) for fault in self.timeline)

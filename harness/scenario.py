"""The scenario model: one failure story, validated before anything runs.

Durations are written like `250ms`, `30s`, `1m`; fractions like `99.9%`.
`load_scenario` (YAML loading with file:line errors) lives in
`scenario_loader.py`; this module is only the typed model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from harness.faults import FaultSpec
from harness.monkey import Monkey
from harness.units import Duration, Fraction, at_least, at_most, format_duration
from harness.units import Strict as _Strict
from harness.yaml_model import Tip, field_missing, field_not_allowed

MIN_PROBES_PER_BUCKET = 5

class StackRef(_Strict):
    backend: Literal["local", "compose"] | None = None
    """None: the target's own default (local for the reference stack, compose for a user's)."""
    profile: str | None = None
    """The reference stack's settings, `tuned` or `default` (harness/stack/profiles.py); None: tuned."""

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, profile: str | None) -> str | None:
        from harness.stack.profiles import PROFILES

        if profile is not None and profile not in PROFILES:
            raise ValueError(f"unknown stack profile '{profile}': choose one of {', '.join(PROFILES)}")
        return profile


USERS_PER_LOCUST = 1000
RATE_PER_LOCUST = 5000.0
"""What one Locust process drives before it measures itself rather than the stack (tests/benchmarks/locust_bench.py)."""
_LOCAL_WORKERS = "each worker is a process on this machine: beyond its cores they compete; use load.remote_workers"


class Load(_Strict):
    workers: Annotated[int, at_most(64, _LOCAL_WORKERS)] = Field(
        0, ge=0, description="Locust worker processes on this machine under one master (0: one process, no master)"
    )
    """Locust's own distributed mode (docs/distributed-load.md): users and rate are totals spread over the workers."""
    remote_workers: int = Field(0, ge=0, le=1000)
    """Workers started on other machines with `failover load-worker`; the test starts once they have all connected."""
    master_bind: str = "127.0.0.1"
    """Address the Locust master listens on for its workers; workers on other machines need e.g. 0.0.0.0."""
    master_port: int | None = Field(None, ge=1, le=65535)
    """Port the Locust master listens on; None: a free one (workers on other machines need a fixed one)."""
    users: int = Field(10, ge=0, description="closed-loop Locust users (0: probes only)")
    rate: float = Field(50.0, ge=0, allow_inf_nan=False, description="Locust's total target rate, requests/s")

    @field_validator("users", "rate")
    @classmethod
    def _within_the_locust_processes(cls, value: float, info: ValidationInfo) -> float:
        """Each Locust process drives a bounded load; workers multiply the bound."""
        per_process = USERS_PER_LOCUST if info.field_name == "users" else RATE_PER_LOCUST
        workers = info.data.get("workers", 0) + info.data.get("remote_workers", 0)
        limit = per_process * max(1, workers)
        if value > limit:
            where = "Locust runs as one process here" if workers == 0 else f"{workers} Locust workers run it"
            raise ValueError(
                f"{value:g} is more than {limit:g}: {where}, and beyond {per_process:g} per process it measures"
                f" itself, not the stack; add workers (load.workers: {-(-value // per_process):g})"
            )
        return value

    payloads: Path | None = None
    """Overrides the target's `entry.payloads`; relative to the scenario file's folder (the loader makes it absolute)."""
    probe_rate: Annotated[
        float,
        at_most(
            1000,
            "one probe process keeps its schedule up to 1000 probes/s; faster, it drifts behind it and "
            "sends too few probes while the stack hangs (measured by tests/benchmarks/probe_bench.py, "
            "docs/probe-resolution.md)",
        ),
    ] = Field(100.0, gt=0, allow_inf_nan=False, description="open-loop probe rate, requests/s")
    probe_timeout: Annotated[
        Duration,
        at_least(0.01, "even a healthy stack takes milliseconds to answer: every probe would fail", format_duration),
        at_most(10.0, "a probe is a health check; in an outage each one holds a connection that long", format_duration),
    ] = 1.0
    duration: Duration | None = None
    """Load time after the steady-state check (the timeline's clock; faults start before it);
    default and minimum: until the last revert plus `observe_after`."""


class SteadyState(_Strict):
    warmup: Duration = 3.0
    """Load runs this long before the steady-state check starts (discarded)."""
    check: Duration = 3.0
    """Window before the first fault (and at the end) that must meet the SLOs."""


STATISTICS = ("p50", "p90", "p95", "p99", "max", "min", "mean")
"""The statistics a target over trials may name (see `harness/trials.py` for how each is computed)."""
_OVER_TRIALS_TIP = (
    "one value judges every trial; a mapping of statistics such as `{p95: 2s}` "
    f"({', '.join(STATISTICS)}) judges their spread over the trials (docs/release-gate.md)"
)


class OverTrials(_Strict):
    """Targets on the distribution of a per-trial figure over a scenario's trials (`rto: {p95: 2s}`).

    Never judged on one run: each trial only measures the figure, `harness/trials.py` gates the spread."""

    example: ClassVar[str] = "{p95: 2s}"

    @model_validator(mode="after")
    def _names_a_statistic(self) -> OverTrials:
        if not self.targets():
            raise ValueError(f"give at least one statistic ({', '.join(STATISTICS)}), e.g. `{self.example}`")
        return self

    def describe(self, show: Callable[[float], str]) -> str:
        """'{p95: 2s, max: 10s}' with each target written by `show` (for one-line summaries)."""
        return "{" + ", ".join(f"{stat}: {show(target)}" for stat, target in self.targets().items()) + "}"

    def targets(self) -> dict[str, float]:
        """Statistic -> target, in the order of `STATISTICS`."""
        values = {name: getattr(self, name) for name in STATISTICS}
        return {name: float(value) for name, value in values.items() if value is not None}


class DurationOverTrials(OverTrials):
    p50: Duration | None = None
    p90: Duration | None = None
    p95: Duration | None = None
    p99: Duration | None = None
    max: Duration | None = None
    min: Duration | None = None
    mean: Duration | None = None


class FractionOverTrials(OverTrials):
    example: ClassVar[str] = "{min: 99.9%}"
    p50: Fraction | None = None
    p90: Fraction | None = None
    p95: Fraction | None = None
    p99: Fraction | None = None
    max: Fraction | None = None
    min: Fraction | None = None
    mean: Fraction | None = None


_Count = Annotated[int, Field(ge=0)]


class CountOverTrials(OverTrials):
    example: ClassVar[str] = "{max: 0}"
    p50: _Count | None = None
    p90: _Count | None = None
    p95: _Count | None = None
    p99: _Count | None = None
    max: _Count | None = None
    min: _Count | None = None
    mean: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


def _form(value: Any) -> str:
    return "trials" if isinstance(value, dict) else "run"


def _untagged_errors(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Errors name the file's path (`slos.rto.p95`), not the union member chosen (`slos.rto.trials.p95`)."""
    try:
        return handler(value)
    except ValidationError as error:
        details = [_untagged(detail) for detail in error.errors()]
        raise ValidationError.from_exception_data(error.title, details) from None


def _untagged(detail: ErrorDetails) -> InitErrorDetails:
    kind: Any = detail["type"]
    if kind not in ("extra_forbidden", "missing"):
        kind = PydanticCustomError(kind, detail["msg"], detail.get("ctx"))
    return {"type": kind, "loc": tuple(detail["loc"][1:]), "input": detail["input"]}


_FORM = (Discriminator(_form), WrapValidator(_untagged_errors))
"""A scalar (judged on every run) or a mapping of statistics over trials (judged on their spread)."""
TimeSLO = Annotated[
    Union[Annotated[Duration, Tag("run"), Tip(_OVER_TRIALS_TIP)], Annotated[DurationOverTrials, Tag("trials")]],  # noqa: UP007
    *_FORM,
]
FractionSLO = Annotated[
    Union[Annotated[Fraction, Tag("run"), Tip(_OVER_TRIALS_TIP)], Annotated[FractionOverTrials, Tag("trials")]],  # noqa: UP007
    *_FORM,
]
CountSLO = Annotated[
    Union[Annotated[_Count, Tag("run"), Tip(_OVER_TRIALS_TIP)], Annotated[CountOverTrials, Tag("trials")]],  # noqa: UP007
    *_FORM,
]
FLOORS = frozenset({"availability"})
"""Metrics that must be at least their target; every other one is a ceiling."""


class LatencySLO(_Strict):
    p50: TimeSLO | None = None
    p95: TimeSLO | None = None
    """Also the healthy-bucket threshold (over trials: the strictest target given)."""
    p99: TimeSLO | None = None


DEFAULT_TOLERANCE = 0.25
"""How much worse than its baseline a figure may get, as a share of the baseline figure."""


def parse_tolerance(value: Any) -> float:
    """'25%' -> 0.25 and '150%' -> 1.5 (a tolerance may exceed 100%); a bare number is a share."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"'{value}' is not a percentage; write it like 25%") from None
    if isinstance(value, bool) or not 0.0 <= number <= 100.0:
        raise ValueError(f"'{value}' is not a tolerance from 0% to 10000%; write it like 25%")
    return round(number, 12)


Tolerance = Annotated[float, BeforeValidator(parse_tolerance), Tip("a tolerance looks like 25% (of the baseline figure)")]


class Regression(_Strict):
    """How much worse than the baseline a figure may get before it fails the gate (`--baseline`);
    a share of the baseline's figure, default `DEFAULT_TOLERANCE` (docs/release-gate.md)."""

    rto: Tolerance | None = None
    ttd: Tolerance | None = None
    rpo: Tolerance | None = None
    lost_writes: Tolerance | None = None
    availability: Tolerance | None = None
    """Of the unavailability (1 - availability): 99.9% -> 99.8% is +100%."""
    latency_p50: Tolerance | None = None
    latency_p95: Tolerance | None = None
    latency_p99: Tolerance | None = None
    quality_rto: Tolerance | None = None
    bad_predictions: Tolerance | None = None
    degraded_share: Tolerance | None = None
    rollback: Tolerance | None = None
    failback: Tolerance | None = None
    failback_errors: Tolerance | None = None


class SLOs(_Strict):
    rto: TimeSLO | None = None
    ttd: TimeSLO | None = None
    """Injection until the stack's own signal said the target was unhealthy."""
    rpo: TimeSLO | None = None
    lost_writes: CountSLO | None = None
    """Acknowledged writes a fault may lose; None: 0 whenever the store was read back."""
    availability: FractionSLO | None = None
    """Fraction of requests ok within each fault window (and the healthy-bucket threshold)."""
    latency: LatencySLO = LatencySLO()
    accuracy: Annotated[
        Fraction, Tip("accuracy is the quality-bucket threshold, one value: gate quality over trials with quality_rto")
    ] | None = None
    """Fraction of labelled answers right, within each fault window (and the quality-bucket threshold)."""
    quality_rto: TimeSLO | None = None
    """Injection until accuracy is back at `accuracy` for `stable_for`."""
    bad_predictions: CountSLO | None = None
    """Wrong answers a fault may serve in buckets below `accuracy`."""
    degraded_share: FractionSLO | None = None
    """Largest share of the answers in a fault window that may be flagged degraded."""
    rollback: TimeSLO | None = None
    """Injection until every replica serves its pre-injection model version again (rollback verified)."""
    failback: TimeSLO | None = None
    """Revert until the primary pool serves again, after a failover to a backup (harness/failback.py)."""
    failback_errors: CountSLO | None = None
    """Failed requests a failback may cost."""
    bucket: Duration = Field(0.25, gt=0)
    stable_for: Duration = Field(5.0, gt=0)
    regression: Regression = Regression()
    """Per-SLO tolerance against a baseline (`failover run --baseline`), e.g. `{rto: 25%}`."""

    @model_validator(mode="after")
    def _quality_needs_an_accuracy_target(self) -> SLOs:
        judged = [name for name in ("quality_rto", "bad_predictions") if getattr(self, name) is not None]
        if judged and self.accuracy is None:
            verb = "judges" if len(judged) == 1 else "judge"
            raise field_missing("accuracy", f"{' and '.join(judged)} {verb} buckets against it")
        return self

    def target(self, metric: str) -> float | OverTrials | None:
        """The target of `metric` (a `METRICS` name such as 'rto' or 'latency_p95') as written."""
        if metric.startswith("latency_"):
            return getattr(self.latency, metric.removeprefix("latency_"))  # type: ignore[no-any-return]
        return getattr(self, metric)  # type: ignore[no-any-return]

    def per_run(self, metric: str) -> float | None:
        """The target every run is judged on; None when unset or given over trials (never judged per run)."""
        target = self.target(metric)
        return None if target is None or isinstance(target, OverTrials) else float(target)

    def over_trials(self) -> dict[str, dict[str, float]]:
        """Metric -> {statistic: target} for every SLO given over trials."""
        found = {metric: self.target(metric) for metric in METRICS}
        return {metric: target.targets() for metric, target in found.items() if isinstance(target, OverTrials)}

    def threshold(self, metric: str) -> float | None:
        """What a bucket must meet (availability, latency_p95): the single target, or over trials the
        strictest target given (a bucket is healthy only when it meets every target)."""
        target = self.target(metric)
        if not isinstance(target, OverTrials):
            return None if target is None else float(target)
        values = target.targets().values()
        return max(values) if metric in FLOORS else min(values)


METRICS = (
    "rto", "ttd", "rpo", "lost_writes", "availability", "latency_p50", "latency_p95", "latency_p99",
    "quality_rto", "bad_predictions", "degraded_share", "rollback", "failback", "failback_errors",
)  # fmt: skip
"""The per-fault figures an SLO can gate, by their `SLOResult` names."""


class StopCondition(_Strict):
    availability_below: Fraction
    for_: Duration = Field(alias="for")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Scenario(_Strict):
    name: Annotated[str, Tip("use lowercase letters, digits and dashes, starting with a letter or digit")] = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["replica-kill"]
    )
    description: str = ""
    hypothesis: str = ""
    """What the team expects the stack to do (a game day's premise; shown in the retrospective)."""
    target: Path | None = None
    """A target file, relative to the scenario file; None: the reference stack."""
    stack: StackRef = StackRef()
    load: Load = Load()
    steady_state: SteadyState = SteadyState()
    timeline: list[FaultSpec] = Field(
        default_factory=list,
        min_length=1,
        examples=[[{"at": "2s", "action": "kill", "target": "model-a", "duration": "8s"}]],
    )
    monkey: Monkey | None = None
    """Instead of a timeline: faults picked at random, reproducibly by seed (`harness/monkey.py`)."""
    slos: SLOs = SLOs()
    stop_conditions: list[StopCondition] = []
    observe_after: Duration = 10.0
    trials: Annotated[
        int, at_most(100, "each trial is a whole run (stack up, load, faults, down): more is a soak test, not a gate")
    ] = Field(1, ge=1)
    runbook: list[RunbookStep] = Field(default_factory=list)
    """Steps for the people of a game day, on the timeline's clock: instructions, gates, expectations."""

    @field_validator("runbook")
    @classmethod
    def _runbook_within_the_load(cls, runbook: list[RunbookStep], info: ValidationInfo) -> list[RunbookStep]:
        """A step after the load ends would keep the run going for nothing (a monkey's faults are picked later)."""
        timeline, load = info.data.get("timeline"), info.data.get("load")
        if not timeline or load is None:
            return runbook
        end = max(max(fault.at + (fault.duration or 0.0) for fault in timeline) + info.data.get("observe_after", 0.0), load.duration or 0.0)
        for index, step in enumerate(runbook):
            if step.at > end:
                raise ValueError(
                    f"runbook[{index}].at {format_duration(step.at)} is after the load ends ({format_duration(end)}: "
                    "the last revert plus observe_after): move the step earlier or raise observe_after"
                )
        return runbook

    @model_validator(mode="after")
    def _faults_from_one_place(self) -> Scenario:
        if not self.timeline and self.monkey is None:
            raise field_missing("timeline", "a scenario needs faults: a timeline, or a monkey that picks them")
        if self.timeline and self.monkey is not None:
            raise field_not_allowed("monkey", "a scenario has a timeline or a monkey, not both", "keep one of them")
        return self

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


class RunbookStep(_Strict):
    """One step of a game day's runbook, at `at` on the timeline's clock (as faults are).

    A gate (`wait_for: confirm`) stops the clock until someone confirms (`failover confirm` or the
    dashboard): every later fault and step moves by the pause. Past `timeout` it aborts the run
    (every fault reverted, verdict `aborted`), or with `on_timeout: continue` goes on as if confirmed.
    """

    at: Duration
    step: str = ""
    """An instruction for people, e.g. "check the on-call page fired"."""
    wait_for: Literal["confirm"] | None = None
    timeout: Annotated[
        Duration, at_least(1.0, "a person needs time to read the step and confirm", format_duration)
    ] | None = None
    """How long a gate waits for a confirmation (default 10m)."""
    on_timeout: Literal["abort", "continue"] | None = None
    """What an unconfirmed gate does at its timeout (default: abort)."""
    expect: list[str] = Field(default_factory=list)
    """Observations the team expects at this step (listed in the retrospective)."""

    @model_validator(mode="after")
    def _says_something(self) -> RunbookStep:
        if not self.step and self.wait_for is None and not self.expect:
            raise field_missing("step", "a runbook step needs an instruction, a gate (wait_for: confirm) or expect")
        for name in ("timeout", "on_timeout"):
            if getattr(self, name) is not None and self.wait_for is None:
                raise field_not_allowed(name, "is for gates only", "or add 'wait_for: confirm' to make the step a gate")
        return self

    @property
    def gate(self) -> bool:
        return self.wait_for == "confirm"

    @property
    def gate_timeout(self) -> float:
        return DEFAULT_GATE_TIMEOUT_S if self.timeout is None else self.timeout


DEFAULT_GATE_TIMEOUT_S = 600.0
Scenario.model_rebuild()

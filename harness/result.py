"""What a run produced: the contract between scoring, the reports and CI.

`result.json` is written from `RunResult` by `report/json_report.py` (fault
window fields flattened into each fault, `pass` for each SLO); its
`schema_version` changes whenever a field's meaning does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from harness.environment import Environment

SCHEMA_VERSION = 5
"""5: `revert_call_s` (how long the revert call took: the fault ended at some moment within it).
4: `probes` (how well the probe stream kept its schedule), and `rto_resolution_s` is the probes'
spacing as sent (it was max(bucket, 1 / probe rate)).
3: `environment` (harness version, the stack's git revision and config hash, seed, machine) and
`load_ended_at`; the file is described by `schemas/result.schema.json` (`harness/report/schemas.py`).
2: RPO is the loss window (any lost write counts), `lost_writes` is its own SLO, latency percentiles
are of successful requests, `later_outages`, `overlapping`, `not_measured`, `inject_call_s`."""
Verdict = Literal["pass", "fail", "aborted", "error"]
MAX_LOST_IDS = 20
"""How many lost request ids a report keeps per fault."""


class _Model(BaseModel):
    # Fields with defaults are required in the schema: `result.json` always carries every field.
    # Attribute docstrings become the schema's descriptions.
    model_config = ConfigDict(
        extra="forbid", json_schema_serialization_defaults_required=True, use_attribute_docstrings=True
    )


class SLOResult(_Model):
    name: str
    """e.g. 'rto', 'availability', 'latency_p95', 'accuracy'."""
    target: float
    measured: float | None
    """None: could not be measured (for RTO: never recovered)."""
    passed: bool
    unit: Literal["s", "fraction", "share", "count"]
    """'fraction' is a floor (availability, accuracy); 's', 'count' and 'share' (a fraction, e.g.
    degraded_share) are ceilings."""
    not_measured: str | None = None
    """Why `measured` is None when the metric could not be measured (never a pass)."""


class FaultWindow(_Model):
    """A fault as it happened: written by the runner from the journal."""

    index: int
    type: str
    target: str
    parameters: dict[str, float | str | list[str] | None] = {}
    """The fault's settings as its type declares them (`failover fault-types`); durations in seconds."""
    injected_at: float
    """Epoch seconds when the injection started: the fault window opens (the call takes `inject_call_s`)."""
    reverted_at: float | None
    """Epoch seconds when the revert call returned: the fault window closes (the call took `revert_call_s`);
    None if never reverted."""
    inject_call_s: float | None = None
    revert_call_s: float | None = None
    """The fault ended somewhere in [reverted_at - revert_call_s, reverted_at]."""


class Outage(_Model):
    """A later, separate outage of a fault: after the stack had recovered (or never went down)."""

    start_s: float
    """Seconds after the fault's injection: its first bad probe."""
    duration_s: float | None
    """Until the first good probe of the next stable run; None: not recovered before the observation ended."""


class Overlap(_Model):
    """Another fault this one's figures cannot be separated from."""

    fault_index: int
    fault: str
    """The other fault, e.g. 'kill model-b'."""
    reason: str


class AccuracyBucket(_Model):
    """One quality bucket of a fault (`slos.bucket` wide, from its injection), judged on the probes."""

    start_s: float
    """Seconds after the injection."""
    answered: int
    """Labelled probes that came back with a prediction."""
    correct: int
    accuracy: float | None
    """correct / answered; None when nothing labelled was answered."""


RolloutKind = Literal["detect", "decide", "rollback", "verified"]


class RolloutPhase(_Model):
    """One phase of a rollback: detect, decide and rollback from the rollout controller's events,
    verified from the records (every replica seen answering serves its pre-injection version again)."""

    kind: RolloutKind
    at_s: float | None
    """Seconds after the injection; None: not measured (see `not_measured`) or not reached."""
    version: str | None = None
    evidence: dict[str, Any] = {}
    not_measured: str | None = None


class Quality(_Model):
    """What was served during a fault, beyond whether it was served (see `harness/quality.py`)."""

    buckets: list[AccuracyBucket] = []
    """Accuracy per bucket from the injection to the end of the fault's span."""
    bad_predictions: int | None = None
    """Wrong answers (probe and Locust) sent in the fault's buckets whose accuracy was below the target."""
    bad_prediction_s: float | None = None
    """The total length of those buckets."""
    degraded_share: float | None = None
    """Share of the answers in the fault window flagged degraded."""
    versions_at_injection: dict[str, str] = {}
    """Replica -> the model version of its last answer before the injection."""
    versions_changed_s: float | None = None
    """Injection until every replica seen answering served a version other than its own at injection."""
    rollback_verified_s: float | None = None
    """Injection until every one of them served its pre-injection version again, after the change."""
    phases: list[RolloutPhase] = []
    """detect, decide, rollback, verified, in that order."""


class FaultScore(_Model):
    fault: FaultWindow
    rto_s: float | None
    rto_bracket_s: tuple[float, float] | None
    """[lower, upper]: the true recovery moment lies between these (sampling resolution)."""
    rto_resolution_s: float
    """The probes' spacing as sent: the largest gap between consecutive probes in the fault's buckets
    (at least 1 / probe rate). The bracket's ends are probes, so this is what the RTO figure can resolve."""
    ttd_s: float | None
    """Injection until the stack's own signal (HAProxy DOWN) said the target was unhealthy."""
    quality_rto_s: float | None = None
    """RTO judged by accuracy; None: not recovered, or not measured (the reason in `not_measured`)."""
    quality: Quality = Quality()
    failback_s: float | None = None
    """Revert until the primary pool served again for `stable_for` (see `harness/failback.py`)."""
    failback_errors: int | None = None
    """Failed requests sent from the revert to the failback."""
    later_outages: list[Outage] = []
    """Outages after this fault's RTO (or after a stable start), each with its own duration."""
    lost_writes: int | None = None
    """Acknowledged predictions in this fault's reach missing from the store after recovery;
    None when not measured (store not read back, or no write acknowledged)."""
    rpo_s: float | None = None
    """max(injection, newest lost ack) - oldest lost ack (0 when none was lost); None when not measured."""
    loss_window_s: tuple[float, float] | None = None
    """[oldest, newest] lost acknowledgement, in seconds after the injection (negative: before it)."""
    lost_request_ids: list[str] = []
    """The request ids of the first lost writes (at most `MAX_LOST_IDS`), oldest first."""
    overlapping: list[Overlap] = []
    """Faults whose outage or losses could not be separated from this one's."""
    not_measured: dict[str, str] = {}
    """Metric ('ttd', 'rpo', 'lost_writes', ...) -> why it was not measured."""
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


class UnattributedLoss(_Model):
    """Acknowledged writes lost outside every fault's reach (e.g. acknowledged during the warm-up)."""

    lost_writes: int
    oldest_ack_at: float
    newest_ack_at: float
    """Epoch seconds."""
    request_ids: list[str]
    """The first `MAX_LOST_IDS`, oldest first."""
    slo: SLOResult
    """The scenario's `lost_writes` SLO (0 by default), judged on these losses alone."""


class RequestTotals(_Model):
    total: int
    ok: int
    failed: int
    probe: int
    locust: int


class ModelFacts(_Model):
    registry: str
    served_by: list[str]


class TargetFacts(_Model):
    """Which system was tested: the target's name and kind, and the compose file it ran (by sha256)."""

    name: str
    kind: str
    file: str
    compose_file: str
    compose_sha256: str | None = None
    attach: bool = False
    models: dict[str, ModelFacts] = {}
    """The models it declares: where their registry is and which services serve them."""
    profile: str | None = None
    """The reference stack's settings profile (`harness/stack/profiles.py`); None for a user's stack."""


class Note(_Model):
    """An operator's note during a game day (`failover note`, the dashboard)."""

    t: float
    author: str
    text: str


class ProbeFacts(_Model):
    """How well the open-loop probe stream kept its schedule (`harness/load/schedule.py`).

    Lateness: how long after its planned time (start + n / rate) a probe's request started."""

    rate: float
    interval_s: float
    sent: int
    late_p50_s: float | None
    late_p99_s: float | None
    late_max_s: float | None
    behind_at_stop_s: float
    """How far the schedule had drifted behind when the stream stopped (0: it kept up)."""
    behind: str | None = None
    """Set when more than 1% of the probes started more than one interval late: RTO brackets can be wider than the interval."""


class RunResult(_Model):
    schema_version: int = SCHEMA_VERSION
    scenario: str
    description: str = ""
    backend: str
    target: TargetFacts | None = None
    verdict: Verdict
    reason: str = ""
    """Why the verdict is not 'pass' (first missed SLO, abort cause, error)."""
    trial: int = 1
    started_at: float
    finished_at: float
    load_ended_at: float | None = None
    """Epoch seconds: the last moment load was sent (the timeline's end); None when no load ran."""
    steady_state_ok: bool
    faults: list[FaultScore]
    unattributed_loss: UnattributedLoss | None = None
    requests: RequestTotals
    environment: Environment | None = None
    """What was measured on (`harness/environment.py`); the runner always fills it, None only in results
    built elsewhere (tests)."""
    notes: list[Note] = []
    """Operator notes, oldest first."""
    probes: ProbeFacts | None = None
    """The probe stream's schedule accuracy; None when not measured (no load ran, or the stream was killed)."""

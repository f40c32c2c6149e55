"""How numbers read in every report: one place, so console, Markdown, JUnit and HTML agree."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.quality import NO_EVENTS
from harness.result import (
    FaultScore,
    FaultWindow,
    Outage,
    ProbeFacts,
    RolloutPhase,
    SLOResult,
    TargetFacts,
    UnattributedLoss,
)

MISSING = "—"


def seconds(value: float | None) -> str:
    """0.25 -> '250 ms', 2.345 -> '2.35 s'; None -> '—'."""
    if value is None:
        return MISSING
    if abs(value) < 1:
        return f"{value * 1000:.3g} ms"
    return f"{value:.2f} s"


def rate(value: float) -> str:
    """2/3 -> '67%' (a pass rate: whole percent)."""
    return f"{value:.0%}"


def fraction(value: float | None) -> str:
    """0.999 -> '99.9%', 1.0 -> '100%'; None -> '—'."""
    if value is None:
        return MISSING
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def bracket(value: tuple[float, float] | None) -> str:
    """(2.1, 2.35) -> '2.10–2.35 s', in the unit of the upper bound."""
    if value is None:
        return MISSING
    lower, upper = value
    if upper < 1:
        return f"{lower * 1000:.3g}–{upper * 1000:.3g} ms"
    return f"{lower:.2f}–{upper:.2f} s"


def count(value: int) -> str:
    return f"{value:,}"


def slo_value(value: float | None, unit: str) -> str:
    if unit == "count":
        return MISSING if value is None else count(int(value))
    return seconds(value) if unit == "s" else fraction(value)


def slo_target(slo: SLOResult) -> str:
    """Durations, counts and shares are ceilings ('≤ 5.00 s', '≤ 0', '≤ 20%'); fractions are floors
    ('≥ 99.9%')."""
    comparator = "≥" if slo.unit == "fraction" else "≤"
    return f"{comparator} {slo_value(slo.target, slo.unit)}"


_NOT_RECOVERED = {
    "rto": "not recovered before the observation ended",
    "later_outages": "a later outage did not recover before the observation ended",
    "quality_rto": "accuracy did not recover before the observation ended",
    "rollback": "not verified: a replica never served its version at injection again",
}
QUALITY_METRICS = ("quality_rto", "bad_predictions", "degraded_share", "versions", "rollback", "failback")
"""Not-measured reasons the quality line and the SLO rows show; not repeated as notes."""


def not_measured(reason: str | None) -> str:
    """'not measured (the target declares no store)'."""
    return f"not measured ({reason})" if reason else "not measured"


def slo_measured(slo: SLOResult) -> str:
    """The measured value; 'not recovered' ('not verified') for an RTO (rollback) that did not
    happen; 'not measured (why)'."""
    if slo.measured is not None:
        return slo_value(slo.measured, slo.unit)
    if slo.not_measured is None and slo.name in _NOT_RECOVERED:
        return "not verified" if slo.name == "rollback" else "not recovered"
    return not_measured(slo.not_measured)


def slo_outcome(slo: SLOResult) -> str:
    """'measured 7.20 s', 'not recovered before the observation ended' or 'not measured (why)'."""
    if slo.measured is not None:
        return f"measured {slo_measured(slo)}"
    if slo.not_measured is None and slo.name in _NOT_RECOVERED:
        return _NOT_RECOVERED[slo.name]
    return not_measured(slo.not_measured)


def slo_miss(slo: SLOResult) -> str:
    """'rto missed: target ≤ 5.00 s, measured 7.20 s' (or '..., not measured (why)')."""
    return f"{slo.name} missed: target {slo_target(slo)}, {slo_outcome(slo)}"


def unattributed_miss(loss: UnattributedLoss) -> str:
    """'lost_writes missed outside every fault: 3 acknowledged writes lost before ... (target ≤ 0)'."""
    return f"lost_writes missed outside every fault: {unattributed(loss)} (target {slo_target(loss.slo)})"


def unattributed(loss: UnattributedLoss) -> str:
    return (
        f"{count(loss.lost_writes)} acknowledged write{'' if loss.lost_writes == 1 else 's'} lost "
        f"before the first fault's reach (run-level)"
    )


def ttd(score: FaultScore) -> str:
    """'1.25 s', 'not detected' (the signal never said DOWN) or 'not measured (why)'."""
    if "ttd" in score.not_measured:
        return not_measured(score.not_measured["ttd"])
    return "not detected" if score.ttd_s is None else seconds(score.ttd_s)


def lost_writes(score: FaultScore) -> str:
    """'0 lost', '3 lost, RPO 400 ms (acknowledged −300 ms … +100 ms)' or 'not measured (why)'."""
    if score.lost_writes is None:
        return not_measured(score.not_measured.get("lost_writes"))
    text = f"{count(score.lost_writes)} lost"
    if score.loss_window_s is not None:
        oldest, newest = score.loss_window_s
        text += f", RPO {seconds(score.rpo_s)} (acknowledged {signed(oldest)} … {signed(newest)})"
    return text


def signed(value: float) -> str:
    """Seconds from the injection: '+1.20 s', '−300 ms'."""
    return ("−" if value < 0 else "+") + seconds(abs(value))


def later_outage(outage: Outage) -> str:
    """'later outage at +5.74 s for 10.0 ms' (or '..., not recovered')."""
    lasted = "not recovered" if outage.duration_s is None else f"for {seconds(outage.duration_s)}"
    return f"later outage at {signed(outage.start_s)} {lasted}"


def notes(score: FaultScore, shown: tuple[str, ...] = ()) -> list[str]:
    """What a reader must know beside the figures: overlaps, what was served (when anything about the
    answers was measured), later outages, what was not measured (except the metrics in `shown`, which
    the caller already shows with their reason)."""
    lines = [f"overlapping with {o.fault}: {o.reason}" for o in score.overlapping]
    served = quality(score)
    if served is not None:
        lines.append(f"served predictions: {served}")
        if rollout_seen(score):
            lines.append(f"rollback phases: {' → '.join(phase(item) for item in score.quality.phases)}")
    lines += [later_outage(outage) for outage in score.later_outages]
    lines += [
        f"{metric} {not_measured(reason)}"
        for metric, reason in score.not_measured.items()
        if metric not in shown and metric not in QUALITY_METRICS
    ]
    if score.lost_request_ids:
        lines.append(f"lost request ids: {', '.join(score.lost_request_ids)}")
    return lines


def quality_rto(score: FaultScore) -> str:
    """'3.00 s', 'not recovered' or 'not measured (why)'."""
    if "quality_rto" in score.not_measured:
        return not_measured(score.not_measured["quality_rto"])
    return "not recovered" if score.quality_rto_s is None else seconds(score.quality_rto_s)


def bad_predictions(score: FaultScore) -> str:
    """'120 over 3.00 s' or 'not measured (why)'."""
    quality = score.quality
    if quality.bad_predictions is None:
        return not_measured(score.not_measured.get("bad_predictions"))
    return f"{count(quality.bad_predictions)} over {seconds(quality.bad_prediction_s)}"


def degraded_share(score: FaultScore) -> str:
    """'12.5%' or 'not measured (why)'."""
    if score.quality.degraded_share is None:
        return not_measured(score.not_measured.get("degraded_share"))
    return fraction(score.quality.degraded_share)


def version_moment(score: FaultScore, value: float | None, metric: str) -> str:
    """A version-change time after the injection: '+1.20 s', 'not seen' or 'not measured (why)'."""
    reason = score.not_measured.get(metric) or score.not_measured.get("versions")
    if reason:
        return not_measured(reason)
    return "not seen" if value is None else signed(value)


def phase(item: RolloutPhase) -> str:
    """'detect +1.20 s (v3)', 'decide not measured (no 'decide' event after the injection)'."""
    if item.at_s is None:
        outcome = not_measured(item.not_measured) if item.not_measured else "not reached"
        return f"{item.kind} {outcome}"
    version = f" ({item.version})" if item.version else ""
    return f"{item.kind} {signed(item.at_s)}{version}"


def rollout_seen(score: FaultScore) -> bool:
    """Whether the rollback phases say anything: one was reached, or the scenario gates a rollback and
    rollout events were given (then a missing phase is news). A kill on a stack with a rollout controller
    is not about rollbacks: its phases are left out."""
    phases = score.quality.phases
    reached = any(item.at_s is not None for item in phases)
    events_given = any(item.not_measured != NO_EVENTS for item in phases[:3])
    return reached or (events_given and _gated(score, "rollback"))


def quality(score: FaultScore) -> str | None:
    """One line of what was served: quality RTO, bad predictions, degraded share, versions; None when
    nothing happened to the answers and the scenario gates none of it (a fault that is not about the
    model: its 'not measured' reasons would only be noise)."""
    q = score.quality
    happened = bool(q.bad_predictions) or bool(q.degraded_share) or q.versions_changed_s is not None
    if not happened and not _gated(score, *QUALITY_SLOS):
        return None
    parts = [
        f"quality RTO {quality_rto(score)}",
        f"bad predictions {bad_predictions(score)}",
        f"degraded {degraded_share(score)}",
        f"versions changed {version_moment(score, q.versions_changed_s, 'versions')}",
        f"rollback verified {version_moment(score, q.rollback_verified_s, 'rollback')}",
    ]
    if score.failback_s is not None:
        parts.append(f"failback {seconds(score.failback_s)} ({count(score.failback_errors or 0)} failed)")
    return " · ".join(parts)


QUALITY_SLOS = ("accuracy", "quality_rto", "bad_predictions", "degraded_share", "rollback")


def _gated(score: FaultScore, *names: str) -> bool:
    return any(slo.name in names for slo in score.slos)


def rto(score: FaultScore) -> str:
    """'7.20 s [6.95–7.20 s]', or 'not recovered'."""
    if score.rto_s is None:
        return "not recovered"
    return f"{seconds(score.rto_s)} [{bracket(score.rto_bracket_s)}]"


def fault_label(fault: FaultWindow) -> str:
    """'kill model-a'."""
    return f"{fault.type} {fault.target}"


def inject_call(fault: FaultWindow) -> str:
    """'inject call 120 ms · revert call 8 ms'; '' when neither was recorded."""
    calls = {"inject": fault.inject_call_s, "revert": fault.revert_call_s}
    return " · ".join(f"{verb} call {seconds(call_s)}" for verb, call_s in calls.items() if call_s is not None)


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(start: float, end: float) -> str:
    """'2023-11-14 22:13:20 → 22:14:20 UTC' (the date repeated only when it changes)."""
    first, last = timestamp(start), timestamp(end)
    same_day = first[:10] == last[:10]
    return f"{first[:-4]} → {last[11:] if same_day else last}"


def offset(epoch: float | None, start: float) -> str:
    """Seconds since the run started: '+12.3 s'."""
    return MISSING if epoch is None else f"+{epoch - start:.1f} s"


def target(facts: TargetFacts) -> str:
    """'shop-ml (attached), compose sha256 3f2a9c01b7e4'; 'reference (default profile), ...' for the
    reference stack at stock settings."""
    attached = " (attached)" if facts.attach else ""
    profile = f" ({facts.profile} profile)" if facts.profile not in (None, "tuned") else ""
    return f"{facts.name}{attached}{profile}, compose sha256 {(facts.compose_sha256 or '?')[:12]}"


NOT_MEASURED_SCHEDULE = "not measured (the probe process wrote no schedule: it was killed or did not stop)"


def probe_schedule(probes: ProbeFacts) -> str:
    """'1,200 probes at 100/s, sent late by p50 0.8 ms, p99 2.1 ms, max 9.3 ms against their schedule'."""
    late = ", ".join(
        f"{name} {seconds(value)}"
        for name, value in (("p50", probes.late_p50_s), ("p99", probes.late_p99_s), ("max", probes.late_max_s))
        if value is not None
    )
    sent = f"{count(probes.sent)} probes at {probes.rate:g}/s"
    return f"{sent}, sent late by {late} against their schedule" if late else sent

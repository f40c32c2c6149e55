"""Scoring: request records in; RTO, TTD, RPO, window statistics, SLO results and the verdict out.

Pure and vectorised: nothing here loops over requests in Python except
`records_frame`, which has to read them one by one.

The definitions are DESIGN.md's; where they leave room, this module decides:

* A fault's buckets start at its `injected_at` and run to the end of the
  observation; only whole buckets are judged (a cut-off last bucket would look
  empty, hence unhealthy).
* A bucket is healthy when its probes meet the availability target (with no
  target, every probe must be ok) and the p95 latency of its successful probes
  meets the p95 target (when one is set). Quality RTO judges it by accuracy:
  prediction == label over the labelled probes that came back with a
  prediction. A bucket with nothing to judge is unhealthy: nothing answered.
* Recovery is the start of the first run of healthy buckets lasting
  `stable_for`, refined to the probes: the bracket runs from the last bad probe
  before that run to the first good probe after it, and RTO is its upper end
  (good: ok and within the p95 target; for quality: prediction == label). Its
  resolution is the probes' spacing as sent (the largest gap between them in
  the fault's buckets), not as planned: a probe stream that fell behind its
  schedule brackets more coarsely than 1 / probe_rate.
* Outages: if the buckets from the injection on are a stable run, the stack
  never went down and RTO is 0; otherwise RTO is the first recovery after the
  injection. An unhealthy bucket after that (a single late failure included)
  starts a *later outage*, a separate outage with its own start (its first bad
  probe) and duration (until its own recovery); it never stretches the RTO.
  The `rto` target applies to each later outage too (the `later_outages` SLO:
  the longest of them).
* Several faults: a fault owns the buckets up to the next fault's injection.
  A healthy run that the next injection cuts short of `stable_for` still counts
  as this fault's recovery; an outage still going when the next fault is
  injected keeps being measured until its recovery. Either way the two faults
  cannot be separated and both are marked `overlapping`; so are faults injected
  within one bucket of each other.
* Lost writes: every ok request is an acknowledged write, acknowledged when its
  answer arrived. A fault's reach starts `LOSS_LOOKBACK_S` before its injection
  (asynchronous replication loses writes acknowledged just before a primary
  dies) and ends where the next fault's reach starts (the last one's at the end
  of the observation); faults injected within one bucket of each other share
  one reach. Losses before the first reach (warm-up, steady-state
  check) are run-level: they fail `lost_writes` without blaming a fault. Losses
  acknowledged while an earlier fault was still active cannot be separated:
  both faults are marked `overlapping`.
* RPO: loss window = oldest..newest lost acknowledgement of the fault's reach;
  `rpo_s = max(injection, newest lost) - oldest lost`; any lost write fails
  `lost_writes` (0 by default once the store was read back), however short the
  window. No read-back, or no write acknowledged in the reach, is "not
  measured": None with a reason, never 0 and never a pass.
* Quality (accuracy per bucket, bad predictions served, degraded share, version changes, rollback
  phases): defined in `harness/quality.py`. Quality RTO, bad predictions and the rollback are "not
  measured" (None with a reason) without labels, without an accuracy target, or without versions.
* Latency percentiles are of successful requests only (numpy's linear
  interpolation): a fast connection-refused error is not a fast answer;
  failures count against availability.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from harness import quality as q
from harness.failback import Failback, failback
from harness.report import formatting as fmt
from harness.result import (
    MAX_LOST_IDS,
    FaultScore,
    FaultWindow,
    Outage,
    Overlap,
    Quality,
    RequestTotals,
    SLOResult,
    UnattributedLoss,
    Verdict,
)
from harness.scenario import SLOs, StopCondition

PROBE, LOCUST = "probe", "locust"
Unit = Literal["s", "share", "count"]
COLUMNS: dict[str, Any] = {
    "sent_at": "float64",
    "latency_s": "float64",
    "ok": "bool",
    "status": "int64",
    "error": "str",
    "served_by": "str",
    "model_version": "str",
    "degraded": "bool",
    "request_id": "str",
    "prediction": "Int64",
    "label": "Int64",
    "source": pd.CategoricalDtype([PROBE, LOCUST]),
}
"""The columns of a records frame and their dtypes: one row per client request."""
QUANTILES = (0.5, 0.95, 0.99)
AVAILABILITY_WITHOUT_TARGET = 1.0
"""What a healthy bucket (and the steady state) needs when the scenario sets no availability target."""
LOSS_LOOKBACK_S = 1.0
"""How long before its injection a fault's reach for lost writes starts. Asynchronous replication
loses what the primary acknowledged but had not shipped when it died: milliseconds of lag, far
less than a second even under load; the warm-up and steady-state check lie further back."""
_EPSILON = 1e-9
"""Slack for float division in bucket counts (e.g. 5.0 / 0.25 must be 20, not 19.999...)."""
_STORE_NOT_READ = "the store was not read back"
_NO_ACKS = "no write was acknowledged within this fault's reach"
_NO_ACCURACY_TARGET = "no accuracy target (slos.accuracy)"
_NO_LABELLED_PROBES = "no labelled probe was sent after the injection"
_QUALITY = ("quality_rto", "bad_predictions")


def records_frame(rows: Iterable[Mapping[str, Any] | Any]) -> pd.DataFrame:
    """Request records (all dicts or all dataclasses) as a frame with `COLUMNS`, in their order.

    Every field is required; `source` must be 'probe' or 'locust'. Row order is kept.
    """
    rows = list(rows)
    get = itemgetter if rows and isinstance(rows[0], Mapping) else attrgetter
    columns = {name: _field(rows, get, name) for name in COLUMNS}
    unknown = set(columns["source"]) - {PROBE, LOCUST}
    if unknown:
        raise ValueError(f"unknown request source {sorted(map(str, unknown))}; expected 'probe' or 'locust'")
    return pd.DataFrame({name: pd.Series(values, dtype=COLUMNS[name]) for name, values in columns.items()})


def _field(rows: list[Any], get: Callable[[str], Callable[[Any], Any]], name: str) -> list[Any]:
    try:
        return list(map(get(name), rows))
    except (KeyError, AttributeError):
        raise ValueError(f"a request record has no field '{name}'") from None


class _Probes(NamedTuple):
    """The probes sent in a fault's whole buckets, as arrays."""

    offset: np.ndarray
    """sent_at - injected_at."""
    bucket: np.ndarray
    ok: np.ndarray
    latency: np.ndarray
    labelled: np.ndarray
    answered: np.ndarray
    """It came back with a prediction."""
    correct: np.ndarray
    """prediction == label (False when either is unknown)."""


class _WindowStats(NamedTuple):
    requests: int
    failed: int
    availability: float | None
    latency: tuple[float | None, float | None, float | None]
    """p50, p95, p99 of the successful requests."""
    accuracy: float | None


class _Outages(NamedTuple):
    rto_s: float | None
    bracket: tuple[float, float] | None
    later: list[Outage]
    cut_short: bool
    """A recovery was taken from a healthy run the next injection cut short of `stable_for`."""
    ran_into_next: bool
    """An outage was still going at the next fault's injection."""


class _QualityOutages(NamedTuple):
    """Buckets judged by accuracy (on the probes)."""

    outages: _Outages
    answered: np.ndarray
    """Per bucket: labelled probes answered."""
    correct: np.ndarray
    bad: np.ndarray
    """Per bucket: accuracy measured and below the target."""


class FaultLosses(NamedTuple):
    """The acknowledged writes in one fault's reach (or outside every reach), and the lost ones."""

    acknowledged: int
    acks: np.ndarray
    """When each lost write was acknowledged (epoch seconds), oldest first."""
    ids: list[str]
    """Their request ids, in the same order."""
    overlapping: list[Overlap]


class Losses(NamedTuple):
    faults: list[FaultLosses]
    """One per fault, in the order given."""
    outside: FaultLosses
    """Before the first fault's reach: run-level."""


def score_fault(
    records: pd.DataFrame,
    fault: FaultWindow,
    slos: SLOs,
    probe_rate: float,
    observation_end: float,
    signals: pd.DataFrame | None = None,
    signal_server: str | None = None,
    losses: FaultLosses | None = None,
    *,
    next_fault: FaultWindow | None = None,
    not_measured: Mapping[str, str] | None = None,
    rollout_events: Sequence[Mapping[str, Any]] | None = None,
) -> FaultScore:
    """Everything measured about one fault, and its SLO results.

    `losses`: this fault's share of the store read-back (see `attribute_lost_writes`); None when the
    store was not read back. `next_fault`: the fault injected after this one, whose outages are not
    this one's. `not_measured`: metric ('ttd', 'rpo', 'lost_writes', 'accuracy', 'degraded_share',
    'versions', ...) -> why the caller could not measure it (e.g. the target declares no store); such a
    metric is None, and its SLO a miss. `rollout_events`: the rollout controller's events of the run
    (see `quality.parse_events`); None when it reported none."""
    missing = _not_measured(not_measured, signals, signal_server)
    n_buckets = _whole_buckets(fault.injected_at, observation_end, slos.bucket)
    stable_n = int(np.ceil(slos.stable_for / slos.bucket - _EPSILON))
    horizon, overlaps = _horizon(fault, next_fault, slos, n_buckets)
    probes = _probes_since(records, fault.injected_at, slos.bucket, n_buckets)
    healthy, good, bad = _service_health(probes, slos, n_buckets)
    outages = _outages(probes, good, bad, healthy, slos.bucket, stable_n, horizon)
    quality_outages = _quality_outages(probes, slos, n_buckets, stable_n, horizon, missing)
    if next_fault is not None:
        overlaps += _outage_overlaps(fault, next_fault, outages, slos)
        if quality_outages is not None:
            overlaps += _outage_overlaps(fault, next_fault, quality_outages.outages, slos, "accuracy drop")
    window_end = observation_end if fault.reverted_at is None else fault.reverted_at
    stats = _window_stats(records, fault.injected_at, window_end)
    p50, p95, p99 = stats.latency
    span_end = observation_end if horizon is None or next_fault is None else next_fault.injected_at
    events = None if rollout_events is None else q.parse_events(rollout_events)
    spans = (horizon, n_buckets), (window_end, span_end, observation_end)
    quality = _quality(records, fault, slos, quality_outages, *spans, missing, events)
    if next_fault is not None and horizon is not None:
        overlaps += _rollback_overlaps(fault, next_fault, quality, missing)
    quality_rto_s = None if quality_outages is None else quality_outages.outages.rto_s
    lost = _loss_figures(fault.injected_at, losses, missing)
    back = failback(records, fault, slos.stable_for, _failback_end(fault, next_fault, observation_end), missing.get("degraded_share"))
    ttd_s = None if "ttd" in missing else _ttd(signals, signal_server, fault.injected_at)
    return FaultScore(
        fault=fault,
        rto_s=outages.rto_s,
        rto_bracket_s=outages.bracket,
        rto_resolution_s=_resolution(probes, probe_rate, horizon),
        ttd_s=ttd_s,
        quality_rto_s=quality_rto_s,
        quality=quality,
        failback_s=back.seconds,
        failback_errors=back.errors,
        later_outages=outages.later,
        failed_requests=stats.failed,
        requests=stats.requests,
        availability=stats.availability,
        latency_p50_s=p50,
        latency_p95_s=p95,
        latency_p99_s=p99,
        lost_writes=lost.count,
        rpo_s=lost.rpo_s,
        loss_window_s=lost.window,
        lost_request_ids=lost.ids,
        overlapping=_unique(overlaps + ([] if losses is None else losses.overlapping)),
        not_measured=missing | ({"failback": back.not_measured} if back.not_measured else {}),
        slos=[
            *_slo_results(slos, outages, stats, lost, missing),
            *_ttd_slo(slos, ttd_s, missing),
            *_quality_slos(slos, quality_rto_s, quality, missing),
            *_failback_slos(slos, back),
        ],
    )


def next_faults(faults: Sequence[FaultWindow]) -> list[FaultWindow | None]:
    """For each fault, the one injected next (ties in the order given); None for the last."""
    order = sorted(range(len(faults)), key=lambda i: faults[i].injected_at)
    following: list[FaultWindow | None] = [None] * len(faults)
    for position, index in enumerate(order[:-1]):
        following[index] = faults[order[position + 1]]
    return following


def _not_measured(given: Mapping[str, str] | None, signals: pd.DataFrame | None, server: str | None) -> dict[str, str]:
    """The caller's reasons; 'rpo' and 'lost_writes' share one (both come from the read-back)."""
    missing = dict(given or {})
    store = missing.get("rpo") or missing.get("lost_writes")
    if store:
        missing.setdefault("rpo", store)
        missing.setdefault("lost_writes", store)
    if signals is None or server is None:
        missing.setdefault("ttd", "no down-signal was watched for this fault's target")
    return missing


class _LostFigures(NamedTuple):
    count: int | None
    rpo_s: float | None
    window: tuple[float, float] | None
    ids: list[str]
    read_back: bool
    """The store was read back (so the default `lost_writes` target applies)."""


def _loss_figures(injected_at: float, losses: FaultLosses | None, missing: dict[str, str]) -> _LostFigures:
    """Count, RPO, loss window and ids; records in `missing` why they are None."""
    if "rpo" in missing:
        return _LostFigures(None, None, None, [], read_back=losses is not None)
    if losses is None or losses.acknowledged == 0:
        reason = _STORE_NOT_READ if losses is None else _NO_ACKS
        missing["rpo"] = missing["lost_writes"] = reason
        return _LostFigures(None, None, None, [], read_back=losses is not None)
    if len(losses.acks) == 0:
        return _LostFigures(0, 0.0, None, [], read_back=True)
    oldest, newest = float(losses.acks[0]), float(losses.acks[-1])
    return _LostFigures(
        count=len(losses.acks),
        rpo_s=max(injected_at, newest) - oldest,
        window=(oldest - injected_at, newest - injected_at),
        ids=losses.ids[:MAX_LOST_IDS],
        read_back=True,
    )


def attribute_lost_writes(
    records: pd.DataFrame,
    missing_ids: set[str],
    faults: Sequence[FaultWindow],
    observation_end: float,
    bucket_s: float,
) -> Losses:
    """Split the acknowledged writes missing from the store among the faults' reaches.

    Every ok request is an acknowledged write, acknowledged when its answer arrived. A fault's
    reach runs from `LOSS_LOOKBACK_S` before its injection to the start of the next fault's reach
    (the last one's to the end); writes acknowledged before the first reach are run-level. Faults
    injected within one bucket of each other cannot be separated (see `_horizon`): they share one
    reach, so each reports the same losses, instead of the first getting the few milliseconds
    between two injections and, with no write acknowledged in them, "not measured"."""
    ok = records["ok"].to_numpy(bool)
    acks = (records["sent_at"].to_numpy(np.float64) + records["latency_s"].to_numpy(np.float64))[ok]
    ids = records["request_id"].to_numpy(object)[ok]
    lost = records["request_id"].isin(missing_ids).to_numpy(bool)[ok]
    groups = _injection_groups(faults, bucket_s)
    starts = np.array([faults[group[0]].injected_at - LOSS_LOOKBACK_S for group in groups], np.float64)
    owner = np.searchsorted(starts, acks, side="right") - 1  # group index; -1: before every reach
    group_shares = [_share_of(acks, ids, lost, owner == g) for g in range(len(groups))]
    group_of = {index: g for g, group in enumerate(groups) for index in group}
    shares = [group_shares[group_of[index]] for index in range(len(faults))]
    for index, pairs in _loss_overlaps(faults, groups, acks[lost], owner[lost], observation_end).items():
        shares[index] = shares[index]._replace(overlapping=pairs)
    return Losses(faults=shares, outside=_share_of(acks, ids, lost, owner == -1))


def _injection_groups(faults: Sequence[FaultWindow], bucket_s: float) -> list[list[int]]:
    """Fault indexes in injection order, grouped: a fault injected within one bucket of the one
    before it joins that one's group."""
    order = sorted(range(len(faults)), key=lambda i: faults[i].injected_at)
    groups: list[list[int]] = []
    for index in order:
        if groups and _injected_together(faults[groups[-1][-1]], faults[index], bucket_s):
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _share_of(acks: np.ndarray, ids: np.ndarray, lost: np.ndarray, mine: np.ndarray) -> FaultLosses:
    lost_here = lost & mine
    order = np.argsort(acks[lost_here], kind="stable")
    return FaultLosses(
        acknowledged=int(mine.sum()),
        acks=acks[lost_here][order],
        ids=[str(i) for i in ids[lost_here][order]],
        overlapping=[],
    )


def _loss_overlaps(
    faults: Sequence[FaultWindow], groups: list[list[int]], acks: np.ndarray, owner: np.ndarray, observation_end: float
) -> dict[int, list[Overlap]]:
    """Faults with a lost write acknowledged in one's reach while an earlier one was still active."""
    overlaps: dict[int, list[Overlap]] = {}
    for g, group in enumerate(groups):
        mine = acks[owner == g]
        for earlier in (index for earlier_group in groups[:g] for index in earlier_group):
            reverted_at = faults[earlier].reverted_at
            end = observation_end if reverted_at is None else reverted_at
            if not (mine < end).any():
                continue
            for later in group:
                a, b = faults[earlier], faults[later]
                reason = f"writes lost while {_name(a)} was still active were acknowledged in {_name(b)}'s reach"
                overlaps.setdefault(later, []).append(_overlap(a, reason))
                overlaps.setdefault(earlier, []).append(_overlap(b, reason))
    return overlaps


def unattributed_loss(losses: Losses, slos: SLOs) -> UnattributedLoss | None:
    """The run-level losses (before every fault's reach), judged against `lost_writes`; None if none."""
    outside = losses.outside
    if len(outside.acks) == 0:
        return None
    count, target = len(outside.acks), int(slos.threshold("lost_writes") or 0)
    return UnattributedLoss(
        lost_writes=count,
        oldest_ack_at=float(outside.acks[0]),
        newest_ack_at=float(outside.acks[-1]),
        request_ids=outside.ids[:MAX_LOST_IDS],
        slo=SLOResult(name="lost_writes", target=target, measured=count, passed=count <= target, unit="count"),
    )


def mutual_overlaps(scores: Sequence[FaultScore]) -> list[FaultScore]:
    """The scores, each also marked `overlapping` with every fault that names it as overlapping."""
    by_index = {score.fault.index: score for score in scores}
    extra: dict[int, list[Overlap]] = {}
    for score in scores:
        for overlap in score.overlapping:
            if overlap.fault_index in by_index:
                extra.setdefault(overlap.fault_index, []).append(_overlap(score.fault, overlap.reason))
    return [
        score.model_copy(update={"overlapping": _unique(score.overlapping + extra.get(score.fault.index, []))})
        for score in scores
    ]


def _name(fault: FaultWindow) -> str:
    return f"fault {fault.index + 1} ({fmt.fault_label(fault)})"


def _overlap(other: FaultWindow, reason: str) -> Overlap:
    return Overlap(fault_index=other.index, fault=_name(other), reason=reason)


def _unique(overlaps: list[Overlap]) -> list[Overlap]:
    """One entry per other fault (the first reason given)."""
    seen: dict[int, Overlap] = {}
    for overlap in overlaps:
        seen.setdefault(overlap.fault_index, overlap)
    return list(seen.values())


def _horizon(
    fault: FaultWindow, next_fault: FaultWindow | None, slos: SLOs, n_buckets: int
) -> tuple[int | None, list[Overlap]]:
    """The whole buckets before the next fault's injection (None: no next fault, or inseparable)."""
    if next_fault is None:
        return None, []
    if _injected_together(fault, next_fault, slos.bucket):
        reason = (
            f"{_name(fault)} and {_name(next_fault)} were injected within one bucket "
            f"({fmt.seconds(slos.bucket)}) of each other"
        )
        return None, [_overlap(next_fault, reason)]
    return min(_whole_buckets(fault.injected_at, next_fault.injected_at, slos.bucket), n_buckets), []


def _injected_together(fault: FaultWindow, next_fault: FaultWindow, bucket_s: float) -> bool:
    """Injected within one bucket of each other: no whole bucket tells their effects apart, for
    recovery (`_horizon`) or for lost writes (`_injection_groups`)."""
    return _whole_buckets(fault.injected_at, next_fault.injected_at, bucket_s) == 0


def _outage_overlaps(
    fault: FaultWindow, next_fault: FaultWindow, outages: _Outages, slos: SLOs, what: str = "outage"
) -> list[Overlap]:
    """`what`: 'outage', or 'accuracy drop' for buckets judged by accuracy."""
    if outages.ran_into_next:
        reason = f"the {what} after {_name(fault)} was still going when {_name(next_fault)} was injected"
    elif outages.cut_short:
        reason = (
            f"{_name(next_fault)} was injected before the {'' if what == 'outage' else 'accuracy '}recovery "
            f"from {_name(fault)} "
            f"had lasted stable_for ({fmt.seconds(slos.stable_for)})"
        )
    else:
        return []
    return [_overlap(next_fault, reason)]


def _rollback_overlaps(
    fault: FaultWindow, next_fault: FaultWindow, quality: Quality, missing: Mapping[str, str]
) -> list[Overlap]:
    """The versions changed, but were not all back when the next fault was injected."""
    if "rollback" in missing:
        return []
    verified = quality.rollback_verified_s
    if verified is not None and fault.injected_at + verified < next_fault.injected_at:
        return []
    reason = f"the rollback after {_name(fault)} was not verified when {_name(next_fault)} was injected"
    return [_overlap(next_fault, reason)]


def _whole_buckets(start: float, end: float, bucket_s: float) -> int:
    return max(0, int(np.floor((end - start) / bucket_s + _EPSILON)))


def _probes_since(records: pd.DataFrame, injected_at: float, bucket_s: float, n_buckets: int) -> _Probes:
    offset = records["sent_at"].to_numpy(np.float64) - injected_at
    bucket = np.floor(offset / bucket_s)
    keep = (records["source"] == PROBE).to_numpy(bool) & (bucket >= 0) & (bucket < n_buckets)
    kept = records.loc[keep, ["ok", "latency_s", "prediction", "label"]]
    return _Probes(
        offset=offset[keep],
        bucket=bucket[keep].astype(np.int64),
        ok=kept["ok"].to_numpy(bool),
        latency=kept["latency_s"].to_numpy(np.float64),
        labelled=kept["label"].notna().to_numpy(bool),
        answered=kept["prediction"].notna().to_numpy(bool),
        correct=(kept["prediction"] == kept["label"]).fillna(False).to_numpy(bool),
    )


def _service_health(probes: _Probes, slos: SLOs, n_buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(healthy per bucket, good per probe, bad per probe) by availability and the p95 of successes."""
    availability = slos.threshold("availability")
    target = AVAILABILITY_WITHOUT_TARGET if availability is None else availability
    healthy = _share(probes.bucket, probes.ok, np.ones_like(probes.ok), n_buckets) >= target
    good = probes.ok.copy()
    p95_target = slos.threshold("latency_p95")
    if p95_target is not None:
        good &= probes.latency <= p95_target
        ok = probes.ok
        p95 = _bucket_quantiles(probes.bucket[ok], probes.latency[ok], n_buckets, (0.95,))[0]
        healthy &= p95 <= p95_target
    return healthy, good, ~good


def _quality_outages(
    probes: _Probes, slos: SLOs, n_buckets: int, stable_n: int, horizon: int | None, missing: dict[str, str]
) -> _QualityOutages | None:
    """Outages with buckets judged by accuracy; None (the reason in `missing` for quality_rto and
    bad_predictions) without labels, an accuracy target or a labelled probe."""
    reason = missing.get("accuracy")
    if reason is None and slos.accuracy is None:
        reason = _NO_ACCURACY_TARGET
    elif reason is None and not probes.labelled.any():
        reason = _NO_LABELLED_PROBES
    if reason is not None or slos.accuracy is None:
        for metric in _QUALITY:
            missing.setdefault(metric, reason or _NO_ACCURACY_TARGET)
        return None
    judged = probes.labelled & probes.answered
    accuracy = _share(probes.bucket, probes.correct, judged, n_buckets)
    healthy = accuracy >= slos.accuracy
    wrong = judged & ~probes.correct
    return _QualityOutages(
        outages=_outages(probes, probes.correct, wrong, healthy, slos.bucket, stable_n, horizon),
        answered=np.bincount(probes.bucket[judged], minlength=n_buckets),
        correct=np.bincount(probes.bucket[judged & probes.correct], minlength=n_buckets),
        bad=accuracy < slos.accuracy,
    )


def _quality(
    records: pd.DataFrame,
    fault: FaultWindow,
    slos: SLOs,
    judged: _QualityOutages | None,
    buckets: tuple[int | None, int],
    ends: tuple[float, float, float],
    missing: dict[str, str],
    events: list[q.RolloutEvent] | None,
) -> Quality:
    """The quality figures of `harness/quality.py`; records in `missing` why any is None.

    `buckets`: (horizon, whole buckets observed); `ends`: (the fault window's end, the span's end, the
    observation's end). A rollout this fault started and the next fault's injection interrupted (versions
    changed, not yet back) is followed to the end of the observation: both faults are overlapping."""
    window_end, span_end, observation_end = ends
    figures: dict[str, Any] = {}
    if judged is not None:
        end = _quality_span(judged.outages, slos.bucket, *buckets)
        figures["buckets"] = q.accuracy_buckets(judged.answered[:end], judged.correct[:end], slos.bucket)
        count, seconds = q.bad_predictions(records, fault.injected_at, slos.bucket, judged.bad[:end])
        figures |= {"bad_predictions": count, "bad_prediction_s": seconds}
    if "degraded_share" not in missing:
        figures["degraded_share"] = q.degraded_share(records, fault.injected_at, window_end)
        if figures["degraded_share"] is None:
            missing["degraded_share"] = "no request was answered in the fault window"
    versions = q.version_timing(records, fault.injected_at, span_end)
    if versions.changed_s is not None and versions.restored_s is None and span_end < observation_end:
        span_end = observation_end
        versions = q.version_timing(records, fault.injected_at, span_end)
    versions_why = missing.get("versions") or (None if versions.why_not == q.NOT_CHANGED else versions.why_not)
    if versions_why:
        missing.setdefault("versions", versions_why)
    rollback_why = versions_why or versions.why_not
    if rollback_why:
        missing.setdefault("rollback", rollback_why)
    if versions_why is None:
        figures["versions_changed_s"] = versions.changed_s
    if rollback_why is None:
        figures["rollback_verified_s"] = versions.restored_s
    figures["versions_at_injection"] = versions.at_injection
    phases = q.rollout_phases(events, fault.injected_at, span_end, versions, missing.get("rollback"))
    return Quality(**figures, phases=phases)


def _quality_span(outages: _Outages, bucket_s: float, horizon: int | None, n_buckets: int) -> int:
    """How many buckets from the injection are the fault's for quality: up to the next injection, or on
    to the quality recovery when the accuracy drop was still going then (to the end if none)."""
    if horizon is None:
        return n_buckets
    if not outages.ran_into_next:
        return horizon
    if outages.rto_s is None:
        return n_buckets
    return min(n_buckets, int(np.floor(outages.rto_s / bucket_s + _EPSILON)) + 1)


def _share(bucket: np.ndarray, hits: np.ndarray, judged: np.ndarray, n_buckets: int) -> np.ndarray:
    """Per bucket, the fraction of judged probes that are hits; NaN (never healthy) when none is judged."""
    hit_count = np.bincount(bucket[judged & hits], minlength=n_buckets)
    judged_count = np.bincount(bucket[judged], minlength=n_buckets)
    share = np.full(n_buckets, np.nan)
    np.divide(hit_count, judged_count, out=share, where=judged_count > 0)
    return share


def _outages(
    probes: _Probes,
    good: np.ndarray,
    bad: np.ndarray,
    healthy: np.ndarray,
    bucket_s: float,
    stable_n: int,
    horizon: int | None,
) -> _Outages:
    """RTO (seconds after injection, with its bracket) and the later outages within `horizon` buckets.

    RTO is 0 with bracket (0, 0) when the buckets from the injection on are a recovery run (the
    stack never went down); (None, None) when it never recovered or nothing was observed."""
    if healthy.size == 0:
        return _Outages(None, None, [], False, False)
    recovering, cut = _recovery_starts(healthy, stable_n, horizon)
    limit = healthy.size if horizon is None else horizon
    unhealthy = np.flatnonzero(~healthy)
    if recovering[0] or unhealthy.size == 0:
        rto_s, bracket, position, cut_short, ran_into_next = 0.0, (0.0, 0.0), 0, bool(cut[0]), False
    else:
        start = _next(recovering, after=int(unhealthy[0]))
        if start is None:
            return _Outages(None, None, [], False, horizon is not None)
        bracket = _bracket(probes, good, bad, start, bucket_s)
        rto_s, position, cut_short, ran_into_next = bracket[1], start, bool(cut[start]), start >= limit
    later: list[Outage] = []
    while not ran_into_next:
        bad_buckets = unhealthy[(unhealthy >= position) & (unhealthy < limit)]
        if bad_buckets.size == 0:
            break
        first = int(bad_buckets[0])
        bad_in_first = probes.offset[bad & (probes.bucket == first)]
        began = float(bad_in_first.min()) if bad_in_first.size else first * bucket_s
        start = _next(recovering, after=first)
        if start is None:
            later.append(Outage(start_s=began, duration_s=None))
            ran_into_next = horizon is not None
            break
        later.append(Outage(start_s=began, duration_s=_bracket(probes, good, bad, start, bucket_s)[1] - began))
        position, cut_short, ran_into_next = start, cut_short or bool(cut[start]), start >= limit
    return _Outages(rto_s, bracket, later, cut_short, ran_into_next)


def _recovery_starts(healthy: np.ndarray, stable_n: int, horizon: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(recovering, cut) per bucket: it starts `stable_n` healthy buckets, or healthy buckets up to
    the `horizon` that cuts them short (`cut`: only the latter)."""
    n = healthy.size
    running = np.concatenate(([0], np.cumsum(healthy)))
    starts = np.arange(n)
    ends = starts + stable_n
    full = np.zeros(n, bool)
    whole = ends <= n
    full[whole] = running[ends[whole]] - running[starts[whole]] == stable_n
    cut = np.zeros(n, bool)
    if horizon is not None:
        short = (starts < horizon) & (ends > horizon)
        cut[short] = running[horizon] - running[starts[short]] == horizon - starts[short]
        cut &= ~full
    return full | cut, cut


def _next(recovering: np.ndarray, after: int) -> int | None:
    """The first recovering bucket after `after`."""
    candidates = np.flatnonzero(recovering[after + 1 :])
    return after + 1 + int(candidates[0]) if candidates.size else None


def _resolution(probes: _Probes, probe_rate: float, horizon: int | None) -> float:
    """How finely the probes located the recovery: the largest gap between consecutive probes sent in
    the fault's buckets (up to the next fault's injection), at least the planned 1 / probe rate. The
    bracket's ends are probes, so its width is one such gap; a stream that fell behind its schedule
    left wider gaps than it planned."""
    own = probes.offset if horizon is None else probes.offset[probes.bucket < horizon]
    gaps = np.diff(np.sort(own))
    return max(1.0 / probe_rate, float(gaps.max(initial=0.0)))


def _bracket(probes: _Probes, good: np.ndarray, bad: np.ndarray, start: int, bucket_s: float) -> tuple[float, float]:
    """From the last bad probe before the recovery run starting at bucket `start` to the first good
    probe after it. The bucket before the run is unhealthy, so it holds a bad probe unless nothing in
    it was judged; then nothing answered until the run began, and the bracket starts there."""
    run_at = start * bucket_s
    bad_before = probes.offset[bad & (probes.bucket == start - 1)]
    lower = float(bad_before.max()) if bad_before.size else run_at
    first_good = float(probes.offset[good & (probes.offset >= lower)].min(initial=np.inf))
    return lower, first_good if np.isfinite(first_good) else run_at


def _bucket_quantiles(
    bucket: np.ndarray, values: np.ndarray, n_buckets: int, quantiles: Sequence[float]
) -> np.ndarray:
    """quantiles x buckets of `values` grouped by `bucket` (numpy's linear method); NaN where empty.

    One sort for all buckets; each quantile is read off at its position within its bucket.
    """
    result = np.full((len(quantiles), n_buckets), np.nan)
    counts = np.bincount(bucket, minlength=n_buckets)
    filled = counts > 0
    if not filled.any():
        return result
    ordered = values[np.lexsort((values, bucket))]
    first = (np.cumsum(counts) - counts)[filled]
    last = first + counts[filled] - 1
    for row, quantile in enumerate(quantiles):
        position = first + (last - first) * quantile
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, last)
        result[row, filled] = ordered[below] + (ordered[above] - ordered[below]) * (position - below)
    return result


def _ttd(signals: pd.DataFrame | None, server: str | None, injected_at: float) -> float | None:
    """Injection until the first DOWN of `server` at or after it, in the stack's own signal."""
    if signals is None or server is None or signals.empty:
        return None
    t = signals["t"].to_numpy(np.float64)
    down = (
        (t >= injected_at)
        & (signals["server"] == server).to_numpy(bool)
        & signals["state"].astype("str").str.startswith("DOWN").to_numpy(bool)
    )
    return float(t[down].min() - injected_at) if down.any() else None


def _window_stats(records: pd.DataFrame, start: float, end: float) -> _WindowStats:
    """Statistics of every request (probe and Locust) sent in [start, end); latency of the ok ones."""
    sent = records["sent_at"].to_numpy(np.float64)
    inside = (sent >= start) & (sent < end)
    kept = records.loc[inside, ["ok", "latency_s", "prediction", "label"]]
    requests = len(kept)
    if requests == 0:
        return _WindowStats(0, 0, None, (None, None, None), None)
    ok = kept["ok"].to_numpy(bool)
    succeeded = kept["latency_s"].to_numpy(np.float64)[ok]
    latency = np.quantile(succeeded, QUANTILES) if succeeded.size else [None] * len(QUANTILES)
    judged = kept["prediction"].notna() & kept["label"].notna()
    correct = int((kept["prediction"] == kept["label"]).fillna(False).sum())
    p50, p95, p99 = (None if value is None else float(value) for value in latency)
    return _WindowStats(
        requests=requests,
        failed=requests - int(ok.sum()),
        availability=float(ok.mean()),
        latency=(p50, p95, p99),
        accuracy=correct / int(judged.sum()) if judged.any() else None,
    )


def _slo_results(
    slos: SLOs, outages: _Outages, stats: _WindowStats, lost: _LostFigures, missing: Mapping[str, str]
) -> list[SLOResult]:
    """One result per SLO with a target judged on every run (an SLO over trials is judged by
    `harness/trials.py` on the spread, never here), in a fixed order:
    rto, later_outages, rpo, lost_writes, availability, latency, accuracy."""
    results = []
    rto = slos.per_run("rto")
    if rto is not None:
        results.append(_ceiling("rto", rto, outages.rto_s))
        if outages.later:
            durations = [outage.duration_s for outage in outages.later]
            longest = None if None in durations else max(d for d in durations if d is not None)
            results.append(_ceiling("later_outages", rto, longest))
    rpo = slos.per_run("rpo")
    if rpo is not None:
        results.append(_ceiling("rpo", rpo, lost.rpo_s, missing.get("rpo")))
    lost_target = 0 if slos.lost_writes is None and lost.read_back else slos.per_run("lost_writes")
    if lost_target is not None:
        results.append(_ceiling("lost_writes", lost_target, lost.count, missing.get("lost_writes"), unit="count"))
    availability = slos.per_run("availability")
    if availability is not None:
        no_requests = "no request was sent in the fault window"
        results.append(_floor("availability", availability, stats.availability, no_requests))
    latency_targets = [slos.per_run(f"latency_{name}") for name in ("p50", "p95", "p99")]
    for name, target, measured in zip(("p50", "p95", "p99"), latency_targets, stats.latency, strict=True):
        if target is not None:
            no_success = "no request succeeded in the fault window"
            results.append(_ceiling(f"latency_{name}", target, measured, no_success))
    if slos.accuracy is not None:
        no_labels = missing.get("accuracy") or "no labelled request was answered in the fault window"
        results.append(_floor("accuracy", slos.accuracy, stats.accuracy, no_labels))
    return results


def _ttd_slo(slos: SLOs, ttd_s: float | None, missing: Mapping[str, str]) -> list[SLOResult]:
    """ttd, when judged on every run; not detected is a miss like not recovered."""
    target = slos.per_run("ttd")
    return [] if target is None else [_ceiling("ttd", target, ttd_s, missing.get("ttd"))]


def _quality_slos(
    slos: SLOs, quality_rto_s: float | None, quality: Quality, missing: Mapping[str, str]
) -> list[SLOResult]:
    """quality_rto, bad_predictions, degraded_share, rollback: those with a target, in that order."""
    figures: list[tuple[str, float | None, Unit]] = [
        ("quality_rto", quality_rto_s, "s"),
        ("bad_predictions", quality.bad_predictions, "count"),
        ("degraded_share", quality.degraded_share, "share"),
        ("rollback", quality.rollback_verified_s, "s"),
    ]
    results = []
    for name, measured, unit in figures:
        target = slos.per_run(name)
        if target is not None:
            results.append(_ceiling(name, target, measured, missing.get(name), unit=unit))
    return results


def _failback_end(fault: FaultWindow, next_fault: FaultWindow | None, observation_end: float) -> float:
    """A failback is judged up to the next fault injected after this one's revert (faults injected
    together, such as both replicas cut at once, fail back together after their reverts)."""
    if next_fault is None or fault.reverted_at is None or next_fault.injected_at < fault.reverted_at:
        return observation_end
    return next_fault.injected_at


def _failback_slos(slos: SLOs, back: Failback) -> list[SLOResult]:
    results = []
    target, errors = slos.per_run("failback"), slos.per_run("failback_errors")
    if target is not None:
        results.append(_ceiling("failback", target, back.seconds, back.not_measured))
    if errors is not None:
        results.append(_ceiling("failback_errors", errors, back.errors, back.not_measured, unit="count"))
    return results


def _ceiling(
    name: str, target: float, measured: float | None, why_not: str | None = None, unit: Unit = "s"
) -> SLOResult:
    passed = measured is not None and measured <= target
    reason = why_not if measured is None else None
    return SLOResult(name=name, target=target, measured=measured, passed=passed, unit=unit, not_measured=reason)


def _floor(name: str, target: float, measured: float | None, why_not: str) -> SLOResult:
    passed = measured is not None and measured >= target
    reason = why_not if measured is None else None
    return SLOResult(
        name=name, target=target, measured=measured, passed=passed, unit="fraction", not_measured=reason
    )


def bucket_series(records: pd.DataFrame, start: float, end: float, bucket_s: float) -> pd.DataFrame:
    """Per bucket of every request sent in [start, end): t (bucket start, epoch), requests, ok,
    error_rate, throughput (req/s), p50/p95/p99 latency of the ok requests, labelled (answers with a
    label and a prediction) and accuracy (the right share of those). Rates, latencies and accuracy are
    NaN where empty; the last bucket may be shorter, and its throughput is over its own length."""
    n_buckets = max(0, int(np.ceil((end - start) / bucket_s - _EPSILON)))
    t = start + np.arange(n_buckets) * bucket_s
    sent = records["sent_at"].to_numpy(np.float64)
    index = np.floor((sent - start) / bucket_s)
    inside = (sent < end) & (index >= 0) & (index < n_buckets)
    bucket = index[inside].astype(np.int64)
    succeeded = records["ok"].to_numpy(bool)[inside]
    requests = np.bincount(bucket, minlength=n_buckets)
    ok = np.bincount(bucket[succeeded], minlength=n_buckets)
    error_rate = np.full(n_buckets, np.nan)
    np.divide(requests - ok, requests, out=error_rate, where=requests > 0)
    latency_s = records["latency_s"].to_numpy(np.float64)[inside]
    latency = _bucket_quantiles(bucket[succeeded], latency_s[succeeded], n_buckets, QUANTILES)
    kept = records.loc[inside, ["prediction", "label"]]
    judged = (kept["prediction"].notna() & kept["label"].notna()).to_numpy(bool)
    right = (kept["prediction"] == kept["label"]).fillna(False).to_numpy(bool)
    labelled = np.bincount(bucket[judged], minlength=n_buckets)
    return pd.DataFrame(
        {
            "t": t,
            "requests": requests,
            "ok": ok,
            "error_rate": error_rate,
            "throughput": requests / np.minimum(bucket_s, end - t),
            "p50": latency[0],
            "p95": latency[1],
            "p99": latency[2],
            "labelled": labelled,
            "accuracy": _share(bucket, right, judged, n_buckets),
        }
    )


def check_steady(records: pd.DataFrame, start: float, end: float, slos: SLOs) -> tuple[bool, str]:
    """Whether the requests sent in [start, end) met the availability and latency SLOs; why not.

    The same rule as a healthy bucket: with no availability target every request must be ok;
    latency is of the successful requests, and a latency target with none is not met."""
    stats = _window_stats(records, start, end)
    if stats.requests == 0 or stats.availability is None:
        return False, "no requests were sent"
    availability = slos.threshold("availability")
    target = AVAILABILITY_WITHOUT_TARGET if availability is None else availability
    reasons = []
    if stats.availability < target:
        unset = " (no availability target: every request must succeed)" if availability is None else ""
        reasons.append(
            f"availability {fmt.fraction(stats.availability)} < {fmt.fraction(target)}{unset} "
            f"({fmt.count(stats.failed)} of {fmt.count(stats.requests)} requests failed)"
        )
    latency_targets = [slos.threshold(f"latency_{name}") for name in ("p50", "p95", "p99")]
    for name, target_s, measured in zip(("p50", "p95", "p99"), latency_targets, stats.latency, strict=True):
        if target_s is None:
            continue
        if measured is None:
            reasons.append(f"latency {name} not measured: no request succeeded")
        elif measured > target_s:
            reasons.append(f"latency {name} {fmt.seconds(measured)} > {fmt.seconds(target_s)}")
    return not reasons, "; ".join(reasons)


def stop_condition_hit(records: pd.DataFrame, now: float, condition: StopCondition) -> bool:
    """Probe availability over the last `for` seconds is below the threshold.

    Only once probes reach back that far: a younger run has not been bad for that long.
    Probes still in flight are not records yet; a window without any counts as nothing answered.
    """
    since = now - condition.for_
    probes = (records["source"] == PROBE).to_numpy(bool)
    sent = records["sent_at"].to_numpy(np.float64)[probes]
    if sent.size == 0 or sent.min() > since:
        return False
    ok = records["ok"].to_numpy(bool)[probes][(sent >= since) & (sent <= now)]
    return ok.size == 0 or float(ok.mean()) < condition.availability_below


def overall_verdict(
    scores: Sequence[FaultScore], steady_ok: bool, aborted: str, unattributed: UnattributedLoss | None = None
) -> tuple[Verdict, str]:
    """'aborted' (with its cause), 'fail' (the first missed SLO, then run-level lost writes, then the
    steady state) or 'pass'."""
    if aborted:
        return "aborted", aborted
    for score in scores:
        for slo in score.slos:
            if not slo.passed:
                return "fail", _miss(slo, score.fault)
    if unattributed is not None and not unattributed.slo.passed:
        return "fail", fmt.unattributed_miss(unattributed)
    if not steady_ok:
        return "fail", "steady state not met"
    return "pass", ""


def _miss(slo: SLOResult, fault: FaultWindow) -> str:
    """'rto missed on kill model-a: target ≤ 2.00 s, measured 3.10 s'."""
    return f"{slo.name} missed on {fmt.fault_label(fault)}: target {fmt.slo_target(slo)}, {fmt.slo_outcome(slo)}"


def request_totals(records: pd.DataFrame) -> RequestTotals:
    total = len(records)
    ok = int(records["ok"].sum())
    source = records["source"]
    return RequestTotals(
        total=total,
        ok=ok,
        failed=total - ok,
        probe=int((source == PROBE).sum()),
        locust=int((source == LOCUST).sum()),
    )

"""Scoring: request records in; RTO, TTD, window statistics, SLO results and the verdict out.

Pure and vectorised: nothing here loops over requests in Python except
`records_frame`, which has to read them one by one.

The definitions are DESIGN.md's; where they leave room, this module decides:

* A fault's buckets start at its `injected_at` and run to the end of the
  observation; only whole buckets are judged (a cut-off last bucket would look
  empty, hence unhealthy).
* RTO judges a bucket by its probes' availability (>= the availability target;
  with no target, every probe must be ok) and p95 latency (<= the p95 target,
  when one is set). Quality RTO judges it by accuracy: prediction == label over
  the labelled probes that came back with a prediction. A bucket with nothing
  to judge is unhealthy: nothing answered.
* Recovery is the start of the first run of healthy buckets lasting
  `stable_for` after the first unhealthy bucket; a relapse after that run does
  not move it. It is refined to the probes: the bracket runs from the last bad
  probe before that run to the first good probe after it, and RTO is its upper
  end (good: ok and within the p95 target; for quality: prediction == label).
* Latency percentiles take every request, failed ones included (a timeout is
  time a client waited), with numpy's linear interpolation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from harness.report import formatting as fmt
from harness.result import FaultScore, FaultWindow, RequestTotals, SLOResult, Verdict
from harness.scenario import SLOs, StopCondition

PROBE, LOCUST = "probe", "locust"
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
"""What a healthy bucket needs when the scenario sets no availability target."""
_EPSILON = 1e-9
"""Slack for float division in bucket counts (e.g. 5.0 / 0.25 must be 20, not 19.999...)."""


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
    """p50, p95, p99."""
    accuracy: float | None


def score_fault(
    records: pd.DataFrame,
    fault: FaultWindow,
    slos: SLOs,
    probe_rate: float,
    observation_end: float,
    signals: pd.DataFrame | None = None,
    signal_server: str | None = None,
    lost_acks: np.ndarray | None = None,
) -> FaultScore:
    """Everything measured about one fault, and its SLO results.

    `lost_acks`: when the acknowledgements of this fault's lost writes arrived
    (see `attribute_lost_writes`); None when the store was not read back."""
    n_buckets = _whole_buckets(fault.injected_at, observation_end, slos.bucket)
    stable_n = int(np.ceil(slos.stable_for / slos.bucket - _EPSILON))
    probes = _probes_since(records, fault.injected_at, slos.bucket, n_buckets)
    healthy, good, bad = _service_health(probes, slos, n_buckets)
    rto_s, bracket = _recovery(probes, good, bad, healthy, slos.bucket, stable_n)
    window_end = observation_end if fault.reverted_at is None else fault.reverted_at
    stats = _window_stats(records, fault.injected_at, window_end)
    p50, p95, p99 = stats.latency
    rpo_s = None if lost_acks is None else _rpo(fault.injected_at, lost_acks)
    return FaultScore(
        fault=fault,
        rto_s=rto_s,
        rto_bracket_s=bracket,
        rto_resolution_s=max(slos.bucket, 1.0 / probe_rate),
        ttd_s=_ttd(signals, signal_server, fault.injected_at),
        quality_rto_s=_quality_rto(probes, slos, n_buckets, stable_n),
        failed_requests=stats.failed,
        requests=stats.requests,
        availability=stats.availability,
        latency_p50_s=p50,
        latency_p95_s=p95,
        latency_p99_s=p99,
        lost_writes=None if lost_acks is None else len(lost_acks),
        rpo_s=rpo_s,
        slos=_slo_results(slos, rto_s, stats, rpo_s),
    )


def _rpo(injected_at: float, lost_acks: np.ndarray) -> float:
    """DESIGN: injection time minus the oldest lost acknowledgement; 0 when none was lost (or all after it)."""
    return max(0.0, injected_at - float(lost_acks.min())) if len(lost_acks) else 0.0


def attribute_lost_writes(
    records: pd.DataFrame, missing_ids: set[str], faults: Sequence[FaultWindow], observation_end: float
) -> list[np.ndarray]:
    """Per fault, the acknowledgement times of acknowledged writes missing from the store.

    Every ok request is an acknowledged write, acknowledged when its answer
    arrived. A lost write belongs to the first fault not yet over when it was
    acknowledged (a write lost to a killed primary was acknowledged just before
    the injection); writes after the last fault belong to the last one."""
    ok = records["ok"].to_numpy(bool)
    lost = ok & records["request_id"].isin(missing_ids).to_numpy(bool)
    acks = (records["sent_at"].to_numpy(np.float64) + records["latency_s"].to_numpy(np.float64))[lost]
    ends = np.array([observation_end if f.reverted_at is None else f.reverted_at for f in faults], np.float64)
    owner = np.minimum(np.searchsorted(np.maximum.accumulate(ends), acks, side="left"), len(faults) - 1)
    return [np.sort(acks[owner == index]) for index in range(len(faults))]


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
    """(healthy per bucket, good per probe, bad per probe) by availability and p95 latency."""
    target = AVAILABILITY_WITHOUT_TARGET if slos.availability is None else slos.availability
    healthy = _share(probes.bucket, probes.ok, np.ones_like(probes.ok), n_buckets) >= target
    good = probes.ok.copy()
    p95_target = slos.latency.p95
    if p95_target is not None:
        good &= probes.latency <= p95_target
        healthy &= _bucket_quantiles(probes.bucket, probes.latency, n_buckets, (0.95,))[0] <= p95_target
    return healthy, good, ~good


def _quality_rto(probes: _Probes, slos: SLOs, n_buckets: int, stable_n: int) -> float | None:
    """RTO with buckets judged by accuracy; None without an accuracy target or labelled probes."""
    if slos.accuracy is None or not probes.labelled.any():
        return None
    judged = probes.labelled & probes.answered
    healthy = _share(probes.bucket, probes.correct, judged, n_buckets) >= slos.accuracy
    rto_s, _ = _recovery(probes, probes.correct, judged & ~probes.correct, healthy, slos.bucket, stable_n)
    return rto_s


def _share(bucket: np.ndarray, hits: np.ndarray, judged: np.ndarray, n_buckets: int) -> np.ndarray:
    """Per bucket, the fraction of judged probes that are hits; NaN (never healthy) when none is judged."""
    hit_count = np.bincount(bucket[judged & hits], minlength=n_buckets)
    judged_count = np.bincount(bucket[judged], minlength=n_buckets)
    share = np.full(n_buckets, np.nan)
    np.divide(hit_count, judged_count, out=share, where=judged_count > 0)
    return share


def _recovery(
    probes: _Probes,
    good: np.ndarray,
    bad: np.ndarray,
    healthy: np.ndarray,
    bucket_s: float,
    stable_n: int,
) -> tuple[float | None, tuple[float, float] | None]:
    """(RTO, bracket) in seconds after injection; (None, None) when it never recovered or nothing
    was observed. (0, (0, 0)) when no bucket was unhealthy.

    The bucket before the stable run is unhealthy, so it holds a bad probe unless
    nothing in it was judged; then nothing answered until the run began, and the
    bracket starts there.
    """
    if healthy.size == 0:
        return None, None
    unhealthy = np.flatnonzero(~healthy)
    if unhealthy.size == 0:
        return 0.0, (0.0, 0.0)
    start = _first_stable_run(healthy, stable_n, after=int(unhealthy[0]))
    if start is None:
        return None, None
    run_at = start * bucket_s
    bad_before = probes.offset[bad & (probes.bucket == start - 1)]
    lower = float(bad_before.max()) if bad_before.size else run_at
    first_good = float(probes.offset[good & (probes.offset >= lower)].min(initial=np.inf))
    upper = first_good if np.isfinite(first_good) else run_at
    return upper, (lower, upper)


def _first_stable_run(healthy: np.ndarray, stable_n: int, after: int) -> int | None:
    """The first bucket after `after` that starts `stable_n` healthy buckets in a row."""
    if healthy.size < stable_n:
        return None
    running = np.concatenate(([0], np.cumsum(healthy)))
    starts = np.flatnonzero(running[stable_n:] - running[:-stable_n] == stable_n)
    starts = starts[starts > after]
    return int(starts[0]) if starts.size else None


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
    """Statistics of every request (probe and Locust) sent in [start, end)."""
    sent = records["sent_at"].to_numpy(np.float64)
    inside = (sent >= start) & (sent < end)
    kept = records.loc[inside, ["ok", "latency_s", "prediction", "label"]]
    requests = len(kept)
    if requests == 0:
        return _WindowStats(0, 0, None, (None, None, None), None)
    ok = int(kept["ok"].sum())
    latency = np.quantile(kept["latency_s"].to_numpy(np.float64), QUANTILES)
    judged = kept["prediction"].notna() & kept["label"].notna()
    correct = int((kept["prediction"] == kept["label"]).fillna(False).sum())
    return _WindowStats(
        requests=requests,
        failed=requests - ok,
        availability=ok / requests,
        latency=(float(latency[0]), float(latency[1]), float(latency[2])),
        accuracy=correct / int(judged.sum()) if judged.any() else None,
    )


def _slo_results(slos: SLOs, rto_s: float | None, stats: _WindowStats, rpo_s: float | None) -> list[SLOResult]:
    """One result per SLO with a target, in a fixed order: rto, rpo, availability, latency, accuracy."""
    results = []
    if slos.rto is not None:
        results.append(_ceiling("rto", slos.rto, rto_s))
    if slos.rpo is not None:
        results.append(_ceiling("rpo", slos.rpo, rpo_s))
    if slos.availability is not None:
        results.append(_floor("availability", slos.availability, stats.availability))
    latency_targets = (slos.latency.p50, slos.latency.p95, slos.latency.p99)
    for name, target, measured in zip(("p50", "p95", "p99"), latency_targets, stats.latency, strict=True):
        if target is not None:
            results.append(_ceiling(f"latency_{name}", target, measured))
    if slos.accuracy is not None:
        results.append(_floor("accuracy", slos.accuracy, stats.accuracy))
    return results


def _ceiling(name: str, target: float, measured: float | None) -> SLOResult:
    passed = measured is not None and measured <= target
    return SLOResult(name=name, target=target, measured=measured, passed=passed, unit="s")


def _floor(name: str, target: float, measured: float | None) -> SLOResult:
    passed = measured is not None and measured >= target
    return SLOResult(name=name, target=target, measured=measured, passed=passed, unit="fraction")


def bucket_series(records: pd.DataFrame, start: float, end: float, bucket_s: float) -> pd.DataFrame:
    """Per bucket of every request sent in [start, end): t (bucket start, epoch), requests, ok,
    error_rate, throughput (req/s), p50/p95/p99 latency. Rates and latencies are NaN where empty;
    the last bucket may be shorter, and its throughput is over its own length."""
    n_buckets = max(0, int(np.ceil((end - start) / bucket_s - _EPSILON)))
    t = start + np.arange(n_buckets) * bucket_s
    sent = records["sent_at"].to_numpy(np.float64)
    index = np.floor((sent - start) / bucket_s)
    inside = (sent < end) & (index >= 0) & (index < n_buckets)
    bucket = index[inside].astype(np.int64)
    requests = np.bincount(bucket, minlength=n_buckets)
    ok = np.bincount(bucket, weights=records["ok"].to_numpy(bool)[inside], minlength=n_buckets).astype(np.int64)
    error_rate = np.full(n_buckets, np.nan)
    np.divide(requests - ok, requests, out=error_rate, where=requests > 0)
    latency = _bucket_quantiles(bucket, records["latency_s"].to_numpy(np.float64)[inside], n_buckets, QUANTILES)
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
        }
    )


def check_steady(records: pd.DataFrame, start: float, end: float, slos: SLOs) -> tuple[bool, str]:
    """Whether every request sent in [start, end) met the availability and latency SLOs; why not."""
    stats = _window_stats(records, start, end)
    if stats.requests == 0:
        return False, "no requests were sent"
    reasons = []
    if slos.availability is not None and stats.availability is not None and stats.availability < slos.availability:
        reasons.append(
            f"availability {fmt.fraction(stats.availability)} < {fmt.fraction(slos.availability)} "
            f"({fmt.count(stats.failed)} of {fmt.count(stats.requests)} requests failed)"
        )
    latency_targets = (slos.latency.p50, slos.latency.p95, slos.latency.p99)
    for name, target, measured in zip(("p50", "p95", "p99"), latency_targets, stats.latency, strict=True):
        if target is not None and measured is not None and measured > target:
            reasons.append(f"latency {name} {fmt.seconds(measured)} > {fmt.seconds(target)}")
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


def overall_verdict(scores: Sequence[FaultScore], steady_ok: bool, aborted: str) -> tuple[Verdict, str]:
    """'aborted' (with its cause), 'fail' (the first missed SLO, else the steady state) or 'pass'."""
    if aborted:
        return "aborted", aborted
    for score in scores:
        for slo in score.slos:
            if not slo.passed:
                return "fail", _miss(slo, score.fault)
    if not steady_ok:
        return "fail", "steady state not met"
    return "pass", ""


def _miss(slo: SLOResult, fault: FaultWindow) -> str:
    """'rto missed on kill model-a: target ≤ 2.00 s, measured 3.10 s'."""
    if slo.measured is not None:
        measured = f"measured {fmt.slo_measured(slo)}"
    elif slo.name == "rto":
        measured = "not recovered before the observation ended"
    else:
        measured = "not measured"
    return f"{slo.name} missed on {fmt.fault_label(fault)}: target {fmt.slo_target(slo)}, {measured}"


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

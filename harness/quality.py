"""Quality of what a fault let through: right or wrong answers, degraded ones, which model version served.

ML serving fails while answering 200, so these figures judge the answers, not only whether there were
any. `scoring.score_fault` calls them; the definitions (README "How recovery is measured" repeats them):

* **Right or wrong**: a labelled request that came back with a prediction is right when
  prediction == label, wrong otherwise. A failed or unlabelled request is neither.
* **Accuracy per bucket**: a fault's buckets are the RTO's (`slos.bucket` wide from its injection),
  judged on the probes, whose open-loop stream samples every bucket evenly: right / answered
  labelled probes; None when none was answered (nothing to judge).
* **Quality RTO** (`scoring.py`): the RTO rules applied to buckets that are healthy when their
  accuracy is at least `slos.accuracy`; 0 when accuracy never dropped.
* **Span**: a fault's buckets from its injection to the next fault's injection (the last fault's:
  to the end of the observation); when its accuracy drop is still going at the next injection, the
  span runs on to its quality recovery and both faults are marked overlapping, like outages.
* **Bad buckets**: buckets of the span whose accuracy was measured and is below `slos.accuracy`
  (a bucket where nothing was answered is an outage, not a wrong answer).
* **Bad predictions served**: the wrong answers (probe and Locust: every answer served) sent in the
  bad buckets. Wrong answers in buckets that meet the target are the model's steady-state error rate,
  not the fault's. **Bad-prediction seconds**: the bad buckets' count x the bucket length.
* **Degraded share**: the answers (ok requests, probe and Locust) sent in the fault window that the
  stack flagged degraded, over all answers sent in it.
* **Versions** (from `served_by` and `model_version` of every answer): the replicas that answered
  both before the injection and within the span, each with the version of its last answer before the
  injection. *Versions changed* (verified): injection until the last of them first answered with
  another version; not seen when one of them never did. *Rollback verified*: injection until the last
  of those that changed (all of them, or a canary) answered with its pre-injection version and never
  with another one again within the span; "not measured" when none changed. A replica seen only after
  the injection has no version to change from and is left out. A rollback not verified by the next
  fault's injection marks both faults overlapping.
* **Rollback phases**: detect, decide and rollback are the first rollout event of that kind at or
  after the injection (and after the phase before it) and before the span's end; verified is the
  rollback verified from the records. A phase without its event is "not measured", never 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, get_args

import numpy as np
import pandas as pd

from harness.result import AccuracyBucket, RolloutKind, RolloutPhase

EVENT_KINDS = ("detect", "decide", "rollback", "promote", "verified")
"""What a rollout controller (the guardian) may report; `promote` and `verified` events are
kept by the controller's own log, the phases use detect, decide and rollback."""
NO_EVENTS = "no rollout events were given for this run"
NO_VERSIONS = "no answer named its serving replica and model version"
NO_BASELINE = "no replica answered both before the injection and after it"
NOT_CHANGED = "no replica changed model version after the injection"


class RolloutEvent(NamedTuple):
    t: float
    kind: str
    version: str | None
    evidence: dict[str, Any]


class VersionTiming(NamedTuple):
    at_injection: dict[str, str]
    """Replica -> the version of its last answer before the injection."""
    changed_s: float | None
    restored_s: float | None
    why_not: str | None
    """Why neither can be measured (no versions, no replica seen before and after)."""
    kept: dict[str, str]
    """Replicas that never served another version -> that version."""
    not_back: dict[str, str]
    """Replicas that changed and did not return to their version at injection -> the version they last served."""


def accuracy_buckets(answered: np.ndarray, correct: np.ndarray, bucket_s: float) -> list[AccuracyBucket]:
    """One `AccuracyBucket` per bucket from the counts of answered and right labelled probes."""
    return [
        AccuracyBucket(
            start_s=index * bucket_s,
            answered=int(judged),
            correct=int(right),
            accuracy=float(right / judged) if judged else None,
        )
        for index, (judged, right) in enumerate(zip(answered, correct, strict=True))
    ]


def bad_predictions(records: pd.DataFrame, injected_at: float, bucket_s: float, bad: np.ndarray) -> tuple[int, float]:
    """(wrong answers sent in the `bad` buckets, their total length in seconds); bucket i starts at
    `injected_at + i * bucket_s`."""
    index = np.floor((records["sent_at"].to_numpy(np.float64) - injected_at) / bucket_s)
    inside = (index >= 0) & (index < bad.size)
    in_bad = np.zeros(len(records), bool)
    in_bad[inside] = bad[index[inside].astype(np.int64)]
    judged = records["prediction"].notna() & records["label"].notna()
    wrong = (judged & (records["prediction"] != records["label"])).to_numpy(bool)
    return int((wrong & in_bad).sum()), float(bad.sum() * bucket_s)


def degraded_share(records: pd.DataFrame, start: float, end: float) -> float | None:
    """Degraded answers / answers (ok requests) sent in [start, end); None when nothing was answered."""
    sent = records["sent_at"].to_numpy(np.float64)
    answered = records["ok"].to_numpy(bool) & (sent >= start) & (sent < end)
    if not answered.any():
        return None
    return float(records["degraded"].to_numpy(bool)[answered].mean())


def version_timing(records: pd.DataFrame, injected_at: float, end: float) -> VersionTiming:
    """When every replica seen answering served another version than at the injection, and when
    they all served their own again, from the answers sent before `end`."""
    answers = _answers(records, end)
    if answers.empty:
        return VersionTiming({}, None, None, NO_VERSIONS, {}, {})
    before, after = answers[answers["sent_at"] < injected_at], answers[answers["sent_at"] >= injected_at]
    baseline = before.groupby("served_by", sort=True)["model_version"].last().to_dict()
    seen = sorted(set(baseline) & set(after["served_by"]))
    if not seen:
        return VersionTiming({}, None, None, NO_BASELINE, {}, {})
    at_injection = {replica: str(baseline[replica]) for replica in seen}
    changed: dict[str, float | None] = {}
    restored: dict[str, float | None] = {}
    last: dict[str, str] = {}
    for replica, rows in after[after["served_by"].isin(seen)].groupby("served_by", sort=True):
        sent = rows["sent_at"].to_numpy(np.float64)
        same = (rows["model_version"] == at_injection[str(replica)]).to_numpy(bool)
        changed[str(replica)] = float(sent[~same][0]) if (~same).any() else None
        restored[str(replica)] = _restored(sent, same)
        last[str(replica)] = str(rows["model_version"].iloc[-1])
    moved = [replica for replica in seen if changed[replica] is not None]
    return VersionTiming(
        at_injection=at_injection,
        changed_s=_last_of(changed, injected_at),
        restored_s=_last_of({replica: restored[replica] for replica in moved}, injected_at),
        why_not=None if moved else NOT_CHANGED,
        kept={replica: last[replica] for replica in seen if changed[replica] is None},
        not_back={replica: last[replica] for replica in moved if restored[replica] is None},
    )


def _answers(records: pd.DataFrame, end: float) -> pd.DataFrame:
    """The answers sent before `end` that name their replica and version, in the order sent."""
    named = records["ok"] & (records["served_by"] != "") & (records["model_version"] != "")
    answers = records.loc[named & (records["sent_at"] < end), ["sent_at", "served_by", "model_version"]]
    return answers.sort_values("sent_at", kind="stable")


def _restored(sent: np.ndarray, same: np.ndarray) -> float | None:
    """The first answer with the version at injection after the last one with another (None: it
    never changed, or its last answer is still another version)."""
    other = np.flatnonzero(~same)
    if other.size == 0 or other[-1] == same.size - 1:
        return None
    return float(sent[other[-1] + 1])


def _last_of(moments: Mapping[str, float | None], injected_at: float) -> float | None:
    values = list(moments.values())
    if not values or any(value is None for value in values):
        return None
    return max(value for value in values if value is not None) - injected_at


def parse_events(events: Sequence[Mapping[str, Any]]) -> list[RolloutEvent]:
    """Rollout events as dicts `{"t": epoch_s, "kind": ..., "version": str, "evidence": {...}}`,
    checked and sorted by time; a bad one is a ValueError naming its position and field. Kinds other
    than EVENT_KINDS (a controller's own, such as the guardian's `canary`) are skipped."""
    parsed = []
    for position, event in enumerate(events):
        where = f"rollout event {position} ({dict(event)!r})"
        t, kind = event.get("t"), event.get("kind")
        if kind not in EVENT_KINDS:
            continue
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t):
            raise ValueError(f"{where}: 't' must be a time in epoch seconds")
        evidence = event.get("evidence") or {}
        if not isinstance(evidence, Mapping):
            raise ValueError(f"{where}: 'evidence' must be a mapping")
        version = event.get("version")
        parsed.append(RolloutEvent(float(t), str(kind), None if version is None else str(version), dict(evidence)))
    return sorted(parsed, key=lambda event: event.t)


def rollout_phases(
    events: Sequence[RolloutEvent] | None, injected_at: float, end: float, versions: VersionTiming, why_not: str | None
) -> list[RolloutPhase]:
    """detect, decide, rollback (from `events` in [injected_at, end)) and verified (from `versions`;
    `why_not`: why the rollback could not be verified from the records)."""
    phases = []
    since = injected_at
    for kind in get_args(RolloutKind)[:-1]:
        event = _first(events or [], kind, since, end)
        if event is None:
            reason = NO_EVENTS if events is None else f"no '{kind}' event after the injection"
            phases.append(RolloutPhase(kind=kind, at_s=None, not_measured=reason))
            continue
        since = event.t
        at_s = event.t - injected_at
        phases.append(RolloutPhase(kind=kind, at_s=at_s, version=event.version, evidence=event.evidence))
    version = ", ".join(sorted(set(versions.at_injection.values()))) or None
    evidence: dict[str, Any] = {"replicas": versions.at_injection}
    evidence |= {name: found for name, found in (("kept", versions.kept), ("not_back", versions.not_back)) if found}
    verified = RolloutPhase(
        kind="verified", at_s=versions.restored_s, version=version, evidence=evidence, not_measured=why_not
    )
    return [*phases, verified]


def _first(events: Sequence[RolloutEvent], kind: str, since: float, end: float) -> RolloutEvent | None:
    return next((event for event in events if event.kind == kind and since <= event.t < end), None)

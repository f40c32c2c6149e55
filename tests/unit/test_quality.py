"""Quality scoring on hand-built labelled timelines: every right and wrong answer, version and replica
is placed by hand, so accuracy per bucket, bad predictions, quality RTO and rollback times are exact."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from harness import quality
from harness.errors import BadInput
from harness.records import RequestRecord
from harness.result import FaultScore, FaultWindow, SLOResult
from harness.scenario import SLOs
from harness.scenario_loader import load_scenario
from harness.scoring import bucket_series, mutual_overlaps, records_frame, score_fault

T0 = 1_700_000_000.0
INJECT = T0 + 2.0
RATE = 20.0
"""Probes per second: 10 in each 0.5 s bucket."""
BUCKET = 0.5
END = 6.0
"""The observation ends this long after the injection: 12 whole buckets."""
WRONG = {0: 1, 1: 6, 2: 10, 3: 3}
"""Wrong probes per bucket after the injection (the first ones of the bucket); 1 in every other
bucket, before the injection too: the model's steady-state error rate (90%, above the 80% target)."""
FAILED = {2: 1}
"""Probes that failed (no answer) at the start of the bucket: neither right nor wrong."""
DEGRADED_BUCKETS = (2, 3)
LOCUST_WRONG = (2, 5)
"""Buckets whose two Locust answers are wrong: 2 is a bad bucket, 5 a healthy one."""
SLO = {"accuracy": 0.8, "bucket": BUCKET, "stable_for": 1.0}
NO_LABELS = "the payloads of target 'shop' carry no labels"

VersionOf = Callable[[str, float], str]


def pushed_and_rolled_back(replica: str, offset: float) -> str:
    """v1 before; model-a serves v2 from +0.5 s to +2.0 s, model-b from +1.0 s to +2.55 s."""
    bad = {"model-a": (0.5, 2.0), "model-b": (1.0, 2.55), "model-c": (0.0, 9.0)}[replica]
    return "v2" if bad[0] <= offset < bad[1] else "v1"


def timeline(
    version: VersionOf = pushed_and_rolled_back,
    *,
    labelled: bool = True,
    named: bool = True,
    wrong: dict[int, int] = WRONG,
    since: float = -2.0,
    end: float = END,
) -> list[RequestRecord]:
    """Probes every 1/RATE s from `since` to `end` after the injection (even ones served by model-a,
    odd by model-b) and Locust answers every 0.25 s (phase 0.01 s) served by model-a."""
    records = []
    for k in range(int(since * RATE), int(end * RATE)):
        offset = k / RATE
        bucket, position = int(offset // BUCKET), k % 10
        failed = offset >= 0 and position < FAILED.get(bucket, 0)
        is_wrong = position < (wrong.get(bucket, 1) if offset >= 0 else 1)
        degraded = offset >= 0 and bucket in DEGRADED_BUCKETS and not failed
        replica = "model-a" if k % 2 == 0 else "model-b"
        answer = (k % 10, failed, is_wrong, degraded, labelled, named)
        records.append(_record(offset, f"probe-{k}", replica, version, *answer))
    for j in range(int(since * 4), int(end * 4)):
        offset = j / 4 + 0.01
        is_wrong = offset >= 0 and int(offset // BUCKET) in LOCUST_WRONG
        answer = (3, False, is_wrong, False, labelled, named)
        records.append(_record(offset, f"locust-{j}", "model-a", version, *answer, source="locust"))
    return records


def _record(
    offset: float,
    request_id: str,
    replica: str,
    version: VersionOf,
    label: int,
    failed: bool,
    wrong: bool,
    degraded: bool,
    labelled: bool,
    named: bool,
    source: str = "probe",
) -> RequestRecord:
    return RequestRecord(
        sent_at=INJECT + offset,
        latency_s=0.01,
        ok=not failed,
        status=503 if failed else 200,
        error="no server available" if failed else "",
        served_by="" if failed or not named else replica,
        model_version="" if failed or not named else version(replica, offset),
        degraded=degraded,
        request_id=request_id,
        prediction=None if failed else (label + 1) % 10 if wrong else label,
        label=label if labelled else None,
        source=source,
    )


def window(index: int = 0, at: float = 0.0, reverted_after: float | None = 3.0) -> FaultWindow:
    injected = INJECT + at
    reverted = None if reverted_after is None else injected + reverted_after
    return FaultWindow(index=index, type="bad-push", target="model", injected_at=injected, reverted_at=reverted)


def score(
    records: list[RequestRecord],
    slos: SLOs | None = None,
    events: Sequence[dict[str, Any]] | None = None,
    not_measured: dict[str, str] | None = None,
) -> FaultScore:
    return score_fault(
        records_frame(records),
        window(),
        slos or SLOs(**SLO),
        probe_rate=RATE,
        observation_end=INJECT + END,
        not_measured=not_measured,
        rollout_events=events,
    )


def slo(result: FaultScore, name: str) -> SLOResult:
    return next(s for s in result.slos if s.name == name)


EVENTS = [
    {"t": INJECT - 1.0, "kind": "detect", "version": "v1"},  # before the injection: not this fault's
    {"t": INJECT + 0.7, "kind": "decide", "version": "v1"},  # before any detect: not a decision on it
    {"t": INJECT + 0.8, "kind": "detect", "version": "v2", "evidence": {"accuracy": 0.4}},
    {"t": INJECT + 0.9, "kind": "detect", "version": "v2"},  # a second detect: the first counts
    {"t": INJECT + 1.2, "kind": "decide", "version": "v1", "evidence": {"rule": "accuracy < 80%"}},
    {"t": INJECT + 1.5, "kind": "rollback", "version": "v1"},
    {"t": INJECT + 2.6, "kind": "verified", "version": "v1"},
]


# Accuracy, bad predictions, quality RTO


def test_accuracy_per_bucket_is_right_over_answered_labelled_probes() -> None:
    result = score(timeline())

    buckets = [(b.start_s, b.answered, b.correct, b.accuracy) for b in result.quality.buckets]
    assert buckets == [
        (0.0, 10, 9, 0.9),
        (0.5, 10, 4, 0.4),
        (1.0, 9, 0, 0.0),  # one probe failed: not a wrong answer
        (1.5, 10, 7, 0.7),
        *[(b * BUCKET, 10, 9, 0.9) for b in range(4, 12)],
    ]


def test_bad_predictions_are_the_wrong_answers_in_buckets_below_the_target() -> None:
    result = score(timeline())

    # buckets 1-3 are below 80%: 6 + 9 + 3 wrong probes and bucket 2's two wrong Locust answers;
    # the one wrong probe in every other bucket (and bucket 5's wrong Locust answer) is the steady state
    assert result.quality.bad_predictions == 6 + 9 + 3 + 2
    assert result.quality.bad_prediction_s == 1.5


def test_quality_rto_is_the_first_right_answer_after_the_last_wrong_one_before_a_stable_run() -> None:
    result = score(timeline())

    assert result.quality_rto_s == pytest.approx(1.65, abs=1e-6)  # last wrong probe at +1.60 s (bucket 3)
    assert "quality_rto" not in result.not_measured


def test_no_drop_below_the_target_is_quality_rto_0_and_no_bad_prediction() -> None:
    result = score(timeline(wrong={}))

    assert result.quality_rto_s == 0.0
    assert (result.quality.bad_predictions, result.quality.bad_prediction_s) == (0, 0.0)


def test_accuracy_that_never_recovers_is_not_recovered_and_counts_to_the_end() -> None:
    result = score(timeline(wrong=dict.fromkeys(range(1, 12), 5)), SLOs(**SLO, quality_rto=5.0))

    assert result.quality_rto_s is None and "quality_rto" not in result.not_measured
    # bucket 2's failed probe would have been a wrong one; Locust's wrong answers in buckets 2 and 5 count
    assert result.quality.bad_predictions == 5 * 11 - 1 + 2 + 2
    assert result.quality.bad_prediction_s == 5.5
    assert slo(result, "quality_rto").passed is False


# Degraded share


def test_degraded_share_is_degraded_answers_over_answers_in_the_fault_window() -> None:
    result = score(timeline())

    # window +0..+3 s: 59 answered probes (one failed), 12 Locust answers; 19 probes degraded
    assert result.quality.degraded_share == pytest.approx(19 / 71, abs=1e-12)


# Versions and rollback phases


def upgraded_before(replica: str, offset: float) -> str:
    """model-a served v0 until 1 s before the injection: its version at injection is v1 all the same."""
    return "v0" if replica == "model-a" and offset < -1.0 else pushed_and_rolled_back(replica, offset)


def test_versions_changed_and_rollback_verified_from_every_replica_seen() -> None:
    records = timeline(upgraded_before)
    records += [_record(-1.0, "old-0", "model-b", pushed_and_rolled_back, 1, False, False, False, True, True)]
    records += [_record(1.2, "new-0", "model-c", pushed_and_rolled_back, 1, False, False, False, True, True)]
    result = score(records)

    assert result.quality.versions_at_injection == {"model-a": "v1", "model-b": "v1"}  # not model-c: seen after
    assert result.quality.versions_changed_s == pytest.approx(1.05, abs=1e-6)  # model-b's first v2 probe
    assert result.quality.rollback_verified_s == pytest.approx(2.55, abs=1e-6)  # model-b's first v1 again


def test_rollback_phases_from_the_first_events_after_the_injection_and_the_records() -> None:
    result = score(timeline(), events=EVENTS)

    phases = [(p.kind, p.at_s, p.version, p.evidence, p.not_measured) for p in result.quality.phases]
    assert phases == [
        ("detect", pytest.approx(0.8), "v2", {"accuracy": 0.4}, None),
        ("decide", pytest.approx(1.2), "v1", {"rule": "accuracy < 80%"}, None),
        ("rollback", pytest.approx(1.5), "v1", {}, None),
        ("verified", pytest.approx(2.55), "v1", {"replicas": {"model-a": "v1", "model-b": "v1"}}, None),
    ]


def test_quality_slos_are_gates_with_measured_value_and_target() -> None:
    slos = SLOs(**SLO, quality_rto=2.0, bad_predictions=20, degraded_share=0.25, rollback=2.5)
    result = score(timeline(), slos)

    assert [(s.name, s.unit, s.measured, s.passed) for s in result.slos] == [
        ("accuracy", "fraction", pytest.approx(slo(result, "accuracy").measured), False),
        ("quality_rto", "s", pytest.approx(1.65), True),
        ("bad_predictions", "count", 20, True),
        ("degraded_share", "share", pytest.approx(19 / 71), False),
        ("rollback", "s", pytest.approx(2.55), False),
    ]


def test_quality_slos_need_an_accuracy_target() -> None:
    with pytest.raises(ValidationError, match="'accuracy' is missing \\(quality_rto and bad_predictions"):
        SLOs(quality_rto=5.0, bad_predictions=10)


@pytest.mark.parametrize(
    ("slos", "message"),
    [
        ("accuracy: 80%\n  quality_rto: soon", "6: slos.quality_rto: 'soon' is not a duration"),
        ("accuracy: 80%\n  bad_predictions: -1", "6: slos.bad_predictions: Input should be greater than or equal to 0"),
        ("degraded_share: 120%", "5: slos.degraded_share: '120%' is not between 0% and 100%"),
        ("rollback: 5 minutes", "5: slos.rollback: '5 minutes' is not a duration"),
        ("quality_rto: 5s", "5: slos.accuracy: missing (quality_rto judges buckets against it)"),
    ],
    ids=["quality_rto", "bad_predictions", "degraded_share", "rollback", "needs-accuracy"],
)
def test_a_bad_quality_slo_names_file_line_and_field(tmp_path: Path, slos: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ntimeline:\n  - {{at: 1s, action: kill, target: model-a}}\nslos:\n  {slos}\n")
    with pytest.raises(BadInput) as caught:
        load_scenario(path)
    assert f"{path}:{message}" in caught.value.message


# Not measured: never 0, never a pass


@pytest.mark.parametrize(
    ("records", "slos", "given", "reason"),
    [
        (lambda: timeline(labelled=False), SLO, None, "no labelled probe was sent after the injection"),
        (timeline, {"bucket": BUCKET}, None, "no accuracy target (slos.accuracy)"),
        (timeline, SLO, {"accuracy": NO_LABELS}, NO_LABELS),
    ],
    ids=["no-labels", "no-accuracy-target", "target-says-no-labels"],
)
def test_quality_rto_and_bad_predictions_not_measured(
    records: Callable[[], list[RequestRecord]], slos: dict[str, Any], given: dict[str, str] | None, reason: str
) -> None:
    result = score(records(), SLOs(**slos), not_measured=given)

    figures = (result.quality_rto_s, result.quality.bad_predictions, result.quality.bad_prediction_s)
    assert figures == (None, None, None)
    assert result.quality.buckets == []
    assert result.not_measured["quality_rto"] == result.not_measured["bad_predictions"] == reason


def test_unmeasured_quality_slos_fail_with_the_reason() -> None:
    gated = SLOs(**SLO, quality_rto=5.0, bad_predictions=100, degraded_share=1.0, rollback=60.0)
    given = {"degraded_share": "target 'shop' declares no entry.degraded_header"}
    result = score(timeline(labelled=False, named=False), gated, not_measured=given)

    outcomes = [(s.name, s.measured, s.passed, s.not_measured) for s in result.slos if s.name != "accuracy"]
    assert outcomes == [
        ("quality_rto", None, False, "no labelled probe was sent after the injection"),
        ("bad_predictions", None, False, "no labelled probe was sent after the injection"),
        ("degraded_share", None, False, "target 'shop' declares no entry.degraded_header"),
        ("rollback", None, False, quality.NO_VERSIONS),
    ]


@pytest.mark.parametrize(
    ("records", "versions", "rollback"),
    [
        (lambda: timeline(named=False), quality.NO_VERSIONS, quality.NO_VERSIONS),
        (lambda: timeline(since=0.0), quality.NO_BASELINE, quality.NO_BASELINE),
        (lambda: timeline(lambda replica, offset: "v1"), None, quality.NOT_CHANGED),
    ],
    ids=["no-versions", "no-replica-before-injection", "never-changed"],
)
def test_version_timing_not_measured(
    records: Callable[[], list[RequestRecord]], versions: str | None, rollback: str
) -> None:
    result = score(records(), events=EVENTS)

    assert (result.quality.versions_changed_s, result.quality.rollback_verified_s) == (None, None)
    assert result.not_measured.get("versions") == versions
    assert result.not_measured["rollback"] == rollback
    assert result.quality.phases[-1].not_measured == rollback


def test_a_rollback_never_completed_is_not_verified_not_unmeasured() -> None:
    stuck = score(timeline(lambda replica, offset: "v2" if offset >= 0.5 else "v1"), SLOs(**SLO, rollback=10.0))

    assert stuck.quality.versions_changed_s == pytest.approx(0.55, abs=1e-6)  # model-b's first probe after +0.5
    assert stuck.quality.rollback_verified_s is None and "rollback" not in stuck.not_measured
    assert stuck.quality.phases[-1].evidence["not_back"] == {"model-a": "v2", "model-b": "v2"}
    assert slo(stuck, "rollback").passed is False


def test_a_canary_change_is_not_every_version_changed_but_its_rollback_is_verified() -> None:
    canary = score(timeline(lambda replica, offset: "v2" if replica == "model-a" and 0.5 <= offset < 2.0 else "v1"))

    assert canary.quality.versions_changed_s is None and "versions" not in canary.not_measured
    assert canary.quality.rollback_verified_s == pytest.approx(2.0, abs=1e-6)  # model-a's first v1 probe again
    evidence = canary.quality.phases[-1].evidence
    assert evidence == {"replicas": {"model-a": "v1", "model-b": "v1"}, "kept": {"model-b": "v1"}}


def test_missing_rollout_events_are_not_measured_phases() -> None:
    without = score(timeline())
    assert [(p.kind, p.at_s, p.not_measured) for p in without.quality.phases[:3]] == [
        (kind, None, quality.NO_EVENTS) for kind in ("detect", "decide", "rollback")
    ]
    no_decide = score(timeline(), events=[e for e in EVENTS if e["kind"] != "decide"])
    assert [(p.kind, p.at_s, p.not_measured) for p in no_decide.quality.phases[:3]] == [
        ("detect", pytest.approx(0.8), None),
        ("decide", None, "no 'decide' event after the injection"),
        ("rollback", pytest.approx(1.5), None),
    ]


def test_degraded_share_without_any_answer_is_not_measured() -> None:
    failed = [r for r in timeline() if r.sent_at < INJECT or r.sent_at >= INJECT + 3.0]
    result = score(failed)
    assert result.quality.degraded_share is None
    assert result.not_measured["degraded_share"] == "no request was answered in the fault window"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"kind": "detect"}, "'t'"),
        ({"t": INJECT, "kind": "detect", "evidence": 3}, "'evidence'"),
    ],
)
def test_a_malformed_rollout_event_names_its_position_and_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"rollout event 1 .*: {field}"):
        score(timeline(), events=[EVENTS[0], event])


def test_a_controllers_own_event_kinds_are_skipped() -> None:
    own = [{"t": INJECT, "kind": "registry_unavailable", "version": "v4"}, {"t": INJECT, "kind": "canary"}]
    assert score(timeline(), events=[*own, *EVENTS]).quality.phases == score(timeline(), events=EVENTS).quality.phases


# Two faults


def test_an_accuracy_drop_still_going_at_the_next_injection_is_overlapping() -> None:
    frame = records_frame(timeline())
    first, second = window(0, at=0.0), window(1, at=1.0)
    slos = SLOs(**SLO)
    scores = [
        score_fault(frame, first, slos, RATE, INJECT + END, next_fault=second),
        score_fault(frame, second, slos, RATE, INJECT + END),
    ]
    first_score, second_score = mutual_overlaps(scores)

    assert [o.fault_index for o in first_score.overlapping] == [1]
    assert "the accuracy drop after fault 1 (bad-push model) was still going" in first_score.overlapping[0].reason
    assert [o.fault_index for o in second_score.overlapping] == [0]
    # the first fault's span runs on to its quality recovery (+1.65 s): buckets 0-3, as alone
    assert first_score.quality_rto_s == pytest.approx(1.65, abs=1e-6)
    assert (first_score.quality.bad_predictions, len(first_score.quality.buckets)) == (20, 4)
    # the second's buckets start at +1.0 s: the first one's buckets 2 and 3 are below the target
    assert second_score.quality.bad_predictions == 9 + 2 + 3
    assert second_score.quality_rto_s == pytest.approx(0.65, abs=1e-6)


# The timeline's accuracy series


def test_bucket_series_has_accuracy_over_every_labelled_answer() -> None:
    series = bucket_series(records_frame(timeline()), INJECT, INJECT + 2.0, 1.0)

    # second 0: probes 20 answered, 1 + 6 wrong, Locust 4 right; second 1: 19 answered probes,
    # 9 + 3 wrong, Locust 2 wrong in bucket 2 and 2 right in bucket 3
    assert series["labelled"].tolist() == [24, 23]
    assert series["accuracy"].tolist() == pytest.approx([17 / 24, 9 / 23])
    empty = bucket_series(records_frame(timeline(labelled=False)), INJECT, INJECT + 1.0, 1.0)
    assert pd.isna(empty["accuracy"]).all() and empty["labelled"].tolist() == [0]


def test_a_rollback_not_verified_at_the_next_injection_is_overlapping() -> None:
    frame = records_frame(timeline(wrong={}))
    first, second = window(0, at=0.0), window(1, at=2.2)  # model-b is back on v1 at +2.55 s only
    slos = SLOs(**SLO, availability=0.5)  # the failed probe is no outage here

    alone = score_fault(frame, first, slos, RATE, INJECT + END)
    assert alone.overlapping == [] and alone.quality.rollback_verified_s == pytest.approx(2.55, abs=1e-6)
    followed = score_fault(frame, first, slos, RATE, INJECT + END, next_fault=second)
    # followed past the next injection, to its end: still measured, and both faults overlapping
    assert followed.quality.rollback_verified_s == pytest.approx(2.55, abs=1e-6) and "rollback" not in followed.not_measured
    assert [(o.fault_index, o.reason) for o in followed.overlapping] == [
        (1, "the rollback after fault 1 (bad-push model) was not verified when fault 2 (bad-push model) was injected")
    ]

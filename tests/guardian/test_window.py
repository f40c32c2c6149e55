"""The verdict on a version's window, on synthetic probe results."""

from __future__ import annotations

from guardian.config import Thresholds
from guardian.window import Sample, SampleWindows, judge, summarize, wilson

LIMITS = Thresholds()


def samples(
    version: str, correct: int, total: int, errors: int = 0, latency_s: float = 0.01, t: float = 100.0
) -> list[Sample]:
    answered = [Sample(t, "model-a", version, True, i < correct, latency_s) for i in range(total - errors)]
    return answered + [Sample(t, "model-a", version, False, False, latency_s) for _ in range(errors)]


def verdict(window: list[Sample], recorded: float | None = 0.98, trusted: bool = False, reference: float | None = None):
    return judge(summarize(window, LIMITS.confidence_z), LIMITS, recorded, trusted, reference)


def test_wilson_interval_brackets_the_proportion_and_is_open_without_data() -> None:
    lower, upper = wilson(9, 20, 2.576)
    assert lower < 0.45 < upper
    assert wilson(0, 0, 2.576) == (0.0, 1.0)


def test_a_degraded_version_is_bad_with_its_evidence() -> None:
    result = verdict(samples("v3", correct=9, total=20), recorded=0.475)
    assert result.bad and result.enough
    assert result.reasons == ("accuracy below min_accuracy",)
    window = result.evidence["window"]
    assert (window["samples"], window["correct"], window["accuracy"]) == (20, 9, 0.45)
    assert result.evidence["thresholds"]["min_accuracy"] == LIMITS.min_accuracy


def test_an_unlucky_window_of_a_good_version_is_not_bad() -> None:
    result = verdict(samples("v1", correct=16, total=20), recorded=0.905)
    assert result.enough and not result.bad and not result.good


def test_a_lucky_window_of_a_bad_version_does_not_prove_it_good() -> None:
    lucky = verdict(samples("v3", correct=26, total=LIMITS.prove_samples), recorded=0.475)
    assert not lucky.bad and not lucky.good
    assert verdict(samples("v1", correct=36, total=LIMITS.prove_samples), recorded=0.905).good
    assert not verdict(samples("v1", correct=19, total=20), recorded=0.905).good  # not a full window


def test_below_the_recorded_accuracy_minus_tolerance_is_bad() -> None:
    result = verdict(samples("v2", correct=13, total=30), recorded=0.98)
    assert "accuracy below recorded_accuracy_minus_tolerance" in result.reasons


def test_no_verdict_before_min_samples() -> None:
    result = verdict(samples("v3", correct=0, total=LIMITS.min_samples - 1))
    assert not result.bad and not result.enough and not result.good


def test_errors_and_latency_judge_only_an_untrusted_version() -> None:
    full = LIMITS.prove_samples
    failing = samples("v2", correct=full - 8, total=full, errors=8)
    assert verdict(failing).reasons == ("error rate above max_error_rate",)
    assert verdict(failing, trusted=True).good
    slow = samples("v2", correct=full, total=full, latency_s=LIMITS.max_p95_s + 0.1)
    assert verdict(slow).reasons == ("p95 latency above max_p95_s",)
    assert verdict(slow, trusted=True).good


def test_a_canary_worse_than_the_champion_is_bad() -> None:
    canary = samples("v1", correct=12, total=20)
    assert not verdict(canary, recorded=None).bad
    assert verdict(canary, recorded=None, reference=1.0).reasons == (
        "accuracy below champion_accuracy_minus_tolerance",
    )


def test_windows_keep_the_newest_samples_of_each_version_within_the_time_window() -> None:
    windows = SampleWindows(window_s=10, window_samples=3)
    for t in range(5):
        windows.add(Sample(float(t), "model-a", "v2", True, True, 0.01))
    assert [s.t for s in windows.samples("v2", now=4.0)] == [2.0, 3.0, 4.0]
    assert [s.t for s in windows.samples("v2", now=13.5)] == [4.0]
    assert windows.samples("v2", now=4.0, replicas={"model-b"}) == []


def test_a_503_counts_for_no_version_but_shows_as_the_replicas_latest() -> None:
    windows = SampleWindows(window_s=10, window_samples=10)
    windows.add(Sample(1.0, "model-a", "v2", True, True, 0.01, 200))
    windows.add(Sample(2.0, "model-a", "v2", False, False, 0.01, 503))
    windows.add(Sample(3.0, "model-a", "v2", False, False, 0.01, 500))
    assert [s.status for s in windows.samples("v2", now=3.0)] == [200, 500]
    assert windows.latest()["model-a"].t == 3.0


def test_an_unanswered_probe_counts_against_the_version_the_alias_moved_to_and_no_other() -> None:
    """A version that cannot answer at all after a push is to blame for its silence; a replica that goes
    silent while serving the version it served (killed, paused, cut off) blames no version: that is an
    infrastructure fault, and rolling the model back would not fix it."""
    windows = SampleWindows(window_s=60, window_samples=100)
    windows.expect({"model-a": "v2"})
    windows.add(Sample(1.0, "model-a", "v2", True, True, 0.01))
    windows.add(Sample(2.0, "model-a", None, False, False, 1.0))  # killed while serving v2
    windows.expect({"model-a": "v4"})
    windows.add(Sample(3.0, "model-a", None, False, False, 1.0))  # silent since the push of v4
    assert [s.t for s in windows.samples("v2", now=4.0)] == [1.0]
    assert [s.t for s in windows.samples("v4", now=4.0)] == [3.0]
    assert windows.latest()["model-a"].t == 3.0


def test_a_replica_that_never_answered_yet_is_starting_not_evidence() -> None:
    windows = SampleWindows(window_s=60, window_samples=100)
    windows.expect({"model-a": "v2"})
    windows.add(Sample(1.0, "model-a", None, False, False, 1.0))
    assert windows.samples("v2", now=2.0) == []


def test_a_shed_503_is_evidence_against_the_version_other_503s_are_not() -> None:
    windows = SampleWindows(window_s=60, window_samples=100)
    windows.add(Sample(1.0, "model-a", "v4", False, False, 0.5, status=503, shed=True))
    windows.add(Sample(2.0, "model-a", "v4", False, False, 0.01, status=503))
    assert [s.t for s in windows.samples("v4", now=3.0)] == [1.0]

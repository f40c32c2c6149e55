"""Probe samples per model version, the sliding window, and the verdict on it."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import asdict, dataclass

from .config import Thresholds


@dataclass(frozen=True)
class Sample:
    """One golden request sent to one replica."""

    t: float
    replica: str
    version: str | None
    """X-Model-Version of the answer; None when nothing answered (connection refused, timeout)."""
    ok: bool
    """A 2xx with a prediction."""
    correct: bool
    latency_s: float
    status: int | None = None
    """HTTP status; None when nothing answered."""
    shed: bool = False
    """A 503 because the replica was overloaded (the model server's load shedding): evidence against
    the version it serves, unlike other 503s."""

    @property
    def unavailable(self) -> bool:
        """A 503: the replica cannot serve right now (loading, store down), which says nothing about a version;
        except when it shed the request because the version it serves cannot keep up."""
        return self.status == 503 and not self.shed


@dataclass(frozen=True)
class WindowStats:
    samples: int
    answered: int
    correct: int
    errors: int
    accuracy: float | None
    accuracy_upper: float | None
    error_rate: float
    error_rate_lower: float
    p95_s: float | None
    first_t: float | None


@dataclass(frozen=True)
class Verdict:
    bad: bool
    enough: bool
    """At least min_samples in the window: without that, never bad."""
    good: bool
    """Proven good: prove_samples in the window and every figure itself (not only its bound) within limits."""
    reasons: tuple[str, ...]
    evidence: dict[str, object]


def wilson(successes: int, total: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion: (lower, upper)."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarize(samples: list[Sample], z: float) -> WindowStats:
    answered = [s for s in samples if s.ok]
    correct = sum(s.correct for s in answered)
    errors = len(samples) - len(answered)
    _, upper = wilson(correct, len(answered), z)
    lower, _ = wilson(errors, len(samples), z)
    return WindowStats(
        samples=len(samples),
        answered=len(answered),
        correct=correct,
        errors=errors,
        accuracy=correct / len(answered) if answered else None,
        accuracy_upper=upper if answered else None,
        error_rate=errors / len(samples) if samples else 0.0,
        error_rate_lower=lower if samples else 0.0,
        p95_s=percentile([s.latency_s for s in answered], 0.95),
        first_t=min((s.t for s in samples), default=None),
    )


def judge(
    stats: WindowStats,
    limits: Thresholds,
    recorded_accuracy: float | None,
    trusted: bool,
    reference_accuracy: float | None = None,
) -> Verdict:
    """Is the version behind `stats` bad, or proven good?

    Bad needs the confidence bound beyond a limit (an unlucky window of a good
    version is not bad); proven good needs prove_samples in the window and the
    figures themselves within every limit (a lucky window of a bad version is
    not good). `trusted`: the version was proven good before, so errors and
    latency no longer judge it (see config.py). `reference_accuracy`: the
    champion's window accuracy when judging a canary, which may not be worse by
    more than the tolerance.
    """
    floors = {"min_accuracy": limits.min_accuracy}
    if recorded_accuracy is not None:
        floors["recorded_accuracy_minus_tolerance"] = recorded_accuracy - limits.accuracy_tolerance
    if reference_accuracy is not None:
        floors["champion_accuracy_minus_tolerance"] = reference_accuracy - limits.accuracy_tolerance
    enough = stats.samples >= limits.min_samples
    reasons: list[str] = []
    if enough and stats.accuracy_upper is not None:
        reasons += [f"accuracy below {name}" for name, floor in floors.items() if stats.accuracy_upper < floor]
    if enough and not trusted:
        if stats.error_rate_lower > limits.max_error_rate:
            reasons.append("error rate above max_error_rate")
        if stats.p95_s is not None and stats.p95_s > limits.max_p95_s:
            reasons.append("p95 latency above max_p95_s")
    good = (
        not reasons
        and stats.samples >= limits.prove_samples
        and stats.accuracy is not None
        and all(stats.accuracy >= floor for floor in floors.values())
        and (trusted or (stats.error_rate <= limits.max_error_rate and (stats.p95_s or 0.0) <= limits.max_p95_s))
    )
    evidence: dict[str, object] = {
        "window": {key: _rounded(value) for key, value in asdict(stats).items()},
        "thresholds": {
            **{name: round(floor, 4) for name, floor in floors.items()},
            "max_error_rate": limits.max_error_rate,
            "max_p95_s": limits.max_p95_s,
            "min_samples": limits.min_samples,
            "prove_samples": limits.prove_samples,
            "confidence_z": limits.confidence_z,
        },
        "recorded_accuracy": recorded_accuracy,
        "errors_and_latency_judged": not trusted,
        "reasons": reasons,
    }
    return Verdict(bad=bool(reasons), enough=enough, good=good, reasons=tuple(reasons), evidence=evidence)


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


class SampleWindows:
    """Thread-safe sliding windows of samples, one per version, plus each replica's latest answer.

    A probe nothing answered counts against the version the replica's alias moved to since its last
    answer (`expect`), and against none otherwise (see `_unanswered_version`); a 503 counts against none
    unless the replica shed it (overloaded: the version it serves cannot keep up).
    """

    def __init__(self, window_s: float, window_samples: int) -> None:
        self._window_s = window_s
        self._window_samples = window_samples
        self._lock = threading.Lock()
        self._by_version: dict[str, deque[Sample]] = {}
        self._unattributed: dict[str, str] = {}
        self._expected: dict[str, str] = {}
        self._latest: dict[str, Sample] = {}

    def expect(self, versions: dict[str, str]) -> None:
        """Replica -> the version its alias names now (what an unanswered probe is held against)."""
        with self._lock:
            self._expected = dict(versions)

    def add(self, sample: Sample) -> None:
        with self._lock:
            self._latest[sample.replica] = sample
            if sample.unavailable:
                return
            version = sample.version or self._unanswered_version(sample.replica)
            if sample.version:
                self._unattributed[sample.replica] = sample.version
            if version is None:
                return
            window = self._by_version.setdefault(version, deque(maxlen=self._window_samples))
            window.append(sample)

    def _unanswered_version(self, replica: str) -> str | None:
        """Whom a probe nothing answered counts against: the version the replica's alias moved to since its
        last answer (a version that cannot answer at all, or crashes its server). Otherwise nobody: a
        replica killed, paused or cut off while serving a version says nothing about that version, and
        one that never answered yet is still starting."""
        last, expected = self._unattributed.get(replica), self._expected.get(replica)
        return expected if last is not None and expected is not None and expected != last else None

    def samples(self, version: str, now: float, replicas: set[str] | None = None, since: float = 0.0) -> list[Sample]:
        """The version's window: its newest samples younger than window_s and taken at or after `since`
        (from `replicas` only, if given)."""
        oldest = max(since, now - self._window_s)
        with self._lock:
            window = list(self._by_version.get(version, ()))
        return [s for s in window if s.t >= oldest and (replicas is None or s.replica in replicas)]

    def latest(self) -> dict[str, Sample]:
        with self._lock:
            return dict(self._latest)

"""The live numbers of a running run, sampled twice a second for the dashboard and `/metrics`.

Same sources as the terminal's `LiveView`: `load.probe_frame` and the active
faults, plus the state watchers' latest server states. Each sample reads only
the probes sent in the last `LOOKBACK_S` (constant work however long the run),
and counts each probe once, when it has finished and settled (`SETTLE_S`), into
the cumulative figures Prometheus wants.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from harness.gameday.metrics import RunMetrics
from harness.gameday.session import GameDay
from harness.live_view import SETTLE_S, window_stats
from harness.observe.state_watch import StateWatch
from harness.timeline import Timeline

SAMPLE_EVERY_S = 0.5
LOOKBACK_S = 12.0
"""Probes are read back this far: longer than any probe timeout (10 s) plus the settling delay."""
SERIES_S = 60


@dataclass
class Sources:
    """Where the numbers come from (all owned by the runner)."""

    probes: Callable[[float], pd.DataFrame]
    """Probe records sent since a time (`LoadMix.probe_frame`)."""
    timeline: Timeline
    watchers: list[StateWatch]
    phase: Callable[[], str]


class Feed:
    """A sampler thread; `latest()` is the newest snapshot (JSON-ready)."""

    def __init__(self, sources: Sources, gameday: GameDay, metrics: RunMetrics, scenario: str) -> None:
        self.sources = sources
        self.gameday = gameday
        self.metrics = metrics
        self.scenario = scenario
        self.started = time.time()
        self._cut = self.started
        self._series: list[dict[str, Any]] = []
        self._latest: dict[str, Any] = {}
        self._held_at: dict[int, float] = {}
        """The timeline's held seconds when each fault was first seen in effect."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gameday-feed", daemon=True)

    def __enter__(self) -> Self:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()  # the last viewers see the end

    def latest(self) -> dict[str, Any]:
        return self._latest

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def _sample(self) -> None:
        try:
            self._latest = self._snapshot()
        except Exception as error:  # noqa: BLE001  (a broken view must never stop the run)
            self._latest = {**self._latest, "error": f"{type(error).__name__}: {error}"}

    def _snapshot(self) -> dict[str, Any]:
        now = time.time()
        end = now - SETTLE_S
        frame = self.sources.probes(self._cut - LOOKBACK_S)
        finished = frame["sent_at"] + frame["latency_s"] if not frame.empty else pd.Series(dtype=float)
        settled = frame[(finished >= self._cut) & (finished < end)] if not frame.empty else frame
        self._cut = max(self._cut, end)
        recent = _recent(frame, end)
        faults = self._faults(now)
        phase = self.sources.phase()
        self.metrics.update(settled, [fault["name"] for fault in faults], phase)
        self._series = [*self._series, {"t": end, **_compact(recent)}][-SERIES_S * 2 :]
        return {
            "t": now,
            "scenario": self.scenario,
            "elapsed_s": now - self.started,
            "phase": phase,
            "recent": recent,
            "series": self._series,
            "faults": faults,
            "servers": self._servers(),
            "gameday": self.gameday.snapshot(),
        }

    def _faults(self, now: float) -> list[dict[str, Any]]:
        """The active faults, each with the seconds until its revert (None: until the load ends)."""
        active = []
        held = self.gameday.held_s()
        for scheduled in self.sources.timeline.faults:
            if not scheduled.active or scheduled.injected_at is None:
                continue
            held_since = held - self._held_at.setdefault(scheduled.index, held)  # pauses move its revert
            duration = scheduled.spec.duration
            ends = None if duration is None else max(scheduled.injected_at + duration + held_since - now, 0.0)
            active.append({"name": scheduled.fault.describe(), "since_s": now - scheduled.injected_at, "ends_in_s": ends})
        return active

    def _servers(self) -> dict[str, str]:
        states: dict[str, str] = {}
        for watcher in self.sources.watchers:
            for row in watcher.rows():
                states[str(row["server"])] = str(row["state"])
        return states


def _recent(frame: pd.DataFrame, end: float, window_s: float = 1.0) -> dict[str, Any]:
    """The last second's probes: rate, errors, latency, accuracy, who served with which version."""
    stats = window_stats(frame, end - window_s, end)
    figures: dict[str, Any] = {
        "rate": stats.rate,
        "error_rate": stats.error_rate,
        "p50_ms": None if stats.p50_s is None else stats.p50_s * 1000,
        "p95_ms": None if stats.p95_s is None else stats.p95_s * 1000,
        "served_by": stats.served_by,
        "accuracy": None,
        "versions": {},
    }
    if frame.empty:
        return figures
    finished = frame["sent_at"] + frame["latency_s"]
    inside = frame[(finished >= end - window_s) & (finished < end) & frame["ok"]]
    labelled = inside[inside["label"].notna() & inside["prediction"].notna()]
    if len(labelled):
        figures["accuracy"] = float(np.mean(labelled["label"].to_numpy() == labelled["prediction"].to_numpy()))
    served = inside[inside["served_by"].astype(str) != ""]
    figures["versions"] = {str(k): str(v) for k, v in served.groupby("served_by")["model_version"].last().items()}
    return figures


def _compact(recent: dict[str, Any]) -> dict[str, Any]:
    return {key: recent[key] for key in ("rate", "error_rate", "p95_ms", "accuracy")}

"""The run's own Prometheus metrics, served at `/metrics` of its control channel while it runs.

Each probe is counted once, when it has finished (`feed.py` hands over each
settled probe exactly once). `failover_fault_active{fault=...}` is 1 while a
fault is in effect: a Grafana annotation query on it marks the fault windows
(docs/gameday.md).
"""

from __future__ import annotations

import pandas as pd
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RunMetrics:
    """A registry of its own (not the process-global one): two runs in one process do not mix."""

    def __init__(self, scenario: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"scenario": scenario}
        self._probes = Counter(
            "failover_probes", "Probes finished, by outcome", ["outcome"], registry=self.registry
        )
        self._latency = Histogram(
            "failover_probe_latency_seconds", "Latency of successful probes", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self._active = Gauge("failover_active_faults", "Faults in effect now", registry=self.registry)
        self._fault = Gauge("failover_fault_active", "1 while this fault is in effect", ["fault"], registry=self.registry)
        self._phase = Gauge("failover_phase", "1 for the run's current phase", ["phase"], registry=self.registry)
        self._info = Gauge("failover_run_info", "The run's scenario", ["scenario"], registry=self.registry)
        self._info.labels(**labels).set(1)
        self._faults: set[str] = set()
        self._current_phase = ""

    def update(self, settled: pd.DataFrame, faults: list[str], phase: str) -> None:
        """Count newly settled probes; set the active faults and the phase."""
        if not settled.empty:
            ok = settled["ok"].to_numpy(bool)
            self._probes.labels(outcome="ok").inc(int(ok.sum()))
            self._probes.labels(outcome="error").inc(int((~ok).sum()))
            for latency in settled.loc[ok, "latency_s"].to_numpy(float):
                self._latency.observe(latency)
        for gone in self._faults - set(faults):
            self._fault.labels(fault=gone).set(0)
        for fault in faults:
            self._fault.labels(fault=fault).set(1)
        self._faults = set(faults)
        self._active.set(len(faults))
        if phase != self._current_phase:
            if self._current_phase:
                self._phase.remove(self._current_phase)
            self._phase.labels(phase=phase).set(1)
            self._current_phase = phase

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

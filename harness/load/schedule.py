"""How far behind its own schedule the open-loop probe stream sent its probes.

Probe n is planned at start + n / rate. Its lateness is the moment its request
started minus that plan: a stream that keeps up stays well under one interval;
one that falls behind (CPU starved, too high a rate for one process) sends
late and in bursts, so the gaps between probes, and the RTO bracket, grow
beyond the interval the scenario asked for. Pure: the probe worker feeds it,
the harness reads the summary.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

QUANTILES = {"late_p50_s": 0.5, "late_p99_s": 0.99}


class ScheduleLog:
    """Each probe's lateness, in the order sent, and how far behind the schedule was when it stopped."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.late_s = array("d")
        self.behind_at_stop_s = 0.0

    def sent(self, late_s: float) -> None:
        self.late_s.append(late_s)

    def stopped(self, behind_s: float) -> None:
        self.behind_at_stop_s = max(0.0, behind_s)

    def summary(self) -> dict[str, Any]:
        return summarize(self.late_s, self.rate, self.behind_at_stop_s)


def summarize(late_s: Sequence[float], rate: float, behind_at_stop_s: float = 0.0) -> dict[str, Any]:
    """The probe stream's schedule facts (the fields of `harness.result.ProbeFacts`).

    Lateness below 0 (a clock read a hair before the plan) counts as 0. With no probe sent the
    lateness figures are None. numpy reads an `array` in place: a day at 1000 probes/s is 86 M values."""
    late = np.maximum(np.asarray(late_s, dtype=np.float64), 0.0)
    facts: dict[str, Any] = {"rate": rate, "interval_s": 1.0 / rate, "sent": int(late.size)}
    quantiles = np.quantile(late, list(QUANTILES.values())) if late.size else [None] * len(QUANTILES)
    facts.update({name: None if value is None else float(value) for name, value in zip(QUANTILES, quantiles)})
    facts["late_max_s"] = float(late.max()) if late.size else None
    facts["behind_at_stop_s"] = max(0.0, behind_at_stop_s)
    facts["behind"] = _behind(facts)
    return facts


def _behind(facts: dict[str, Any]) -> str | None:
    """Why RTO brackets may be wider than the interval the scenario asked for; None when 99% of the probes
    started within one interval of their plan. One late probe in a hundred is not worth a warning
    on every run: it shows where it matters, in the resolution of the fault it fell in."""
    late, interval = facts["late_p99_s"], facts["interval_s"]
    if late is None or late <= interval:
        return None
    return (
        f"1% of the probes started {late * 1000:.1f} ms late or more (max {facts['late_max_s'] * 1000:.1f} ms), more than "
        f"their interval ({interval * 1000:.3g} ms): RTO brackets can be wider than the interval "
        "(each fault's rto_resolution_s is the spacing its probes achieved)"
    )

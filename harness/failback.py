"""Failback: once a fault that sent traffic to a backup is reverted, how long until the primary pool
serves again, and what failed on the way back.

A failover to a backup (answers flagged degraded, e.g. the reference stack's
model-fallback with the previous model version) is only over when the
primary pool has taken the traffic back. From the fault's revert:
- `failback_s` runs to the first non-degraded answer after the last degraded
  one, provided the primary pool then holds for `stable_for` (no degraded
  answer in that time) before the observation ends or the next fault starts;
  0 when no degraded answer came after the revert;
- `failback_errors` counts the failed requests (probes and Locust) sent from
  the revert to that moment.
Not measured (with the reason) when the fault was never reverted, the target
does not flag degraded answers, or no degraded answer was served during the
fault (nothing to fail back from); `None` with a reason when failback was not
confirmed within the observation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from harness.result import FaultWindow


class Failback(NamedTuple):
    seconds: float | None
    errors: int | None
    not_measured: str | None


def failback(
    records: pd.DataFrame, fault: FaultWindow, stable_for: float, span_end: float, degraded_unknown: str | None
) -> Failback:
    """The failback after `fault`, judged on the answers sent up to `span_end` (the observation's end or
    the next fault's injection)."""
    if degraded_unknown:
        return Failback(None, None, degraded_unknown)
    if fault.reverted_at is None:
        return Failback(None, None, "the fault was never reverted")
    sent = records["sent_at"].to_numpy(float)
    ok = records["ok"].to_numpy(bool)
    degraded = records["degraded"].to_numpy(bool) & ok
    during = (sent >= fault.injected_at) & (sent < fault.reverted_at)
    if not degraded[during].any():
        return Failback(None, None, "no degraded answer was served during the fault: nothing to fail back from")
    after = (sent >= fault.reverted_at) & (sent < span_end)
    back_at = _primary_back_at(sent[after], ok[after], degraded[after], fault.reverted_at)
    if back_at is None or span_end - back_at < stable_for:
        return Failback(None, None, f"the primary pool did not hold for {stable_for:g}s before the observation ended")
    errors = int((~ok & (sent >= fault.reverted_at) & (sent < back_at)).sum())
    return Failback(back_at - fault.reverted_at, errors, None)


def _primary_back_at(sent: np.ndarray, ok: np.ndarray, degraded: np.ndarray, reverted_at: float) -> float | None:
    """The first non-degraded answer after the last degraded one (the revert itself when none came after)."""
    order = np.argsort(sent, kind="stable")
    sent, ok, degraded = sent[order], ok[order], degraded[order]
    last_degraded = np.flatnonzero(degraded)
    start = last_degraded[-1] + 1 if last_degraded.size else 0
    if not last_degraded.size:
        return reverted_at
    primary = np.flatnonzero(ok[start:] & ~degraded[start:])
    return float(sent[start + primary[0]]) if primary.size else None

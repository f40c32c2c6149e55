"""Scoring's cost on 1,000,000 request records, measured and printed (never asserted).

    .venv/bin/python tests/benchmarks/scoring_bench.py [--records 1000000]

Generates a synthetic run (a 100/s probe stream plus Locust making up the rest,
over 1,000 s, with a 20 s outage 300 s in), as dicts, before anything is
measured. Then times `records_frame`, `score_fault` and `bucket_series` (1 s
buckets over the whole run, as the report draws them) and reports the peak
resident memory above the baseline (VmHWM after resetting it through
/proc/self/clear_refs; Linux only). Targets: <= 10 s and <= 1 GiB in all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `harness` is importable when run as a script

from harness.result import FaultWindow  # noqa: E402
from harness.scenario import SLOs  # noqa: E402
from harness.scoring import bucket_series, records_frame, score_fault  # noqa: E402

START = 1_700_000_000.0
RUN_S = 1000.0
PROBE_RATE = 100.0
OUTAGE = (300.0, 320.0)
TARGET_S = 10.0
TARGET_BYTES = 1 << 30
SLOS = SLOs(rto=5.0, availability=0.99, latency={"p50": 0.05, "p95": 0.25, "p99": 0.5}, accuracy=0.9)


def generate(n: int) -> list[dict[str, Any]]:
    """n request records as dicts: probes at PROBE_RATE, Locust at random times; failures in OUTAGE."""
    rng = np.random.default_rng(1729)
    probes = int(RUN_S * PROBE_RATE)
    offset = np.concatenate([np.arange(probes) / PROBE_RATE, np.sort(rng.uniform(0, RUN_S, n - probes))])
    source = np.where(np.arange(n) < probes, "probe", "locust")
    ok = ~((offset >= OUTAGE[0]) & (offset < OUTAGE[1]))
    latency = np.where(ok, rng.lognormal(np.log(0.012), 0.5, n), 0.002)
    label = rng.integers(0, 10, n)
    right = rng.random(n) < 0.97
    columns = zip(
        (START + offset).tolist(), latency.tolist(), ok.tolist(), label.tolist(), right.tolist(), source.tolist(),
        strict=True,
    )
    return [
        {
            "sent_at": sent_at,
            "latency_s": latency_s,
            "ok": is_ok,
            "status": 200 if is_ok else 503,
            "error": "" if is_ok else "no server available",
            "served_by": "model-a" if is_ok else "",
            "model_version": "v2" if is_ok else "",
            "degraded": False,
            "request_id": f"{i:032x}",
            "prediction": (label_ if is_right else (label_ + 1) % 10) if is_ok else None,
            "label": label_,
            "source": source_,
        }
        for i, (sent_at, latency_s, is_ok, label_, is_right, source_) in enumerate(columns)
    ]


def rss_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> None:
    """From here on, VmHWM (peak RSS) starts again from the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")


def timed(label: str, timings: dict[str, float], call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = call()
    timings[label] = time.perf_counter() - started
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()

    rows = generate(args.records)
    fault = FaultWindow(
        index=0, type="kill", target="model-a", injected_at=START + OUTAGE[0], reverted_at=START + OUTAGE[1]
    )
    baseline = rss_bytes("VmRSS")
    reset_peak_rss()
    timings: dict[str, float] = {}
    frame = timed("records_frame", timings, lambda: records_frame(rows))
    score = timed(
        "score_fault",
        timings,
        lambda: score_fault(frame, fault, SLOS, probe_rate=PROBE_RATE, observation_end=START + RUN_S),
    )
    buckets = timed("bucket_series", timings, lambda: bucket_series(frame, START, START + RUN_S, 1.0))
    peak = rss_bytes("VmHWM") - baseline

    print(f"{len(frame):,} records ({int((frame['source'] == 'probe').sum()):,} probes), {len(buckets):,} buckets")
    print(f"input rows held before measuring: {baseline / 2**20:,.0f} MiB RSS (not counted)")
    for label, seconds in timings.items():
        print(f"  {label:14} {seconds:7.3f} s")
    total = sum(timings.values())
    print(f"  {'total':14} {total:7.3f} s   {total / TARGET_S:.3f} of the {TARGET_S:g} s target")
    print(f"peak memory above baseline: {peak / 2**20:,.0f} MiB   {peak / TARGET_BYTES:.3f} of the 1 GiB target")
    print(f"frame itself: {frame.memory_usage(deep=True).sum() / 2**20:,.0f} MiB")
    print(f"rto {score.rto_s} s, bracket {score.rto_bracket_s} (outage {OUTAGE[1] - OUTAGE[0]:g} s)")


if __name__ == "__main__":
    main()

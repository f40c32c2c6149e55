"""Locust's cost of recording every request, measured side by side and printed (never asserted).

    .venv/bin/python tests/benchmarks/locust_bench.py [--users 20] [--seconds 10] [--rounds 3]

The same unthrottled run against the integration tests' fake model server (in this
process, on a free 127.0.0.1 port), with per-request recording and without, for a few
rounds in alternating order (a busy machine makes single runs noisy). Prints Locust's
throughput, its CPU use in steady state and CPU per request for every run, and the
throughput ratio per round and its median (target >= 0.9).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` is importable when run as a script

from harness.load.locust_run import LocustRun  # noqa: E402
from tests.integration.test_locust_run import FakeModelServer, serve  # noqa: E402

WARM_UP_S = 1.0


def measure(url: str, workdir: Path, users: int, seconds: float, record: bool) -> dict[str, float]:
    """One unthrottled run; Locust's CPU is sampled after the warm-up, when all users run."""
    run = LocustRun(url, workdir, users=users, rate=0, record=record)
    with run:
        locust = psutil.Process(run.pid)
        time.sleep(WARM_UP_S)
        cpu_before, wall_before = sum(locust.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds - WARM_UP_S)
        cpu_s, wall_s = sum(locust.cpu_times()[:2]) - cpu_before, time.monotonic() - wall_before
    stats = run.locust_stats()
    rps = float(stats["rps"] or 0)
    return {
        "requests": float(stats["requests"] or 0),
        "records": float(len(run.records())),
        "rps": rps,
        "cpu_pct": 100 * cpu_s / wall_s,
        "cpu_us_per_request": 1e6 * cpu_s / wall_s / rps if rps else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs, in alternating order")
    args = parser.parse_args()

    print(f"{args.users} users, unthrottled, {args.seconds:g} s per run, fake model server on 127.0.0.1")
    print(f"{'round':5} {'':14} {'requests':>9} {'records':>8} {'req/s':>8} {'Locust CPU':>11} {'CPU/request':>12}")
    ratios, cpu_ratios = [], []
    with serve(FakeModelServer()) as url, tempfile.TemporaryDirectory(prefix="locust-bench-") as tmp:
        for round_ in range(1, args.rounds + 1):
            modes = [("recording", True), ("not recording", False)]
            results = {}
            for label, record in modes if round_ % 2 else modes[::-1]:
                workdir = Path(tmp) / f"{round_}-{label.replace(' ', '-')}"
                results[label] = figures = measure(url, workdir, args.users, args.seconds, record)
                print(
                    f"{round_:<5} {label:14} {figures['requests']:9.0f} {figures['records']:8.0f}"
                    f" {figures['rps']:8.0f} {figures['cpu_pct']:10.0f}% {figures['cpu_us_per_request']:9.0f} us"
                )
            recording, plain = results["recording"], results["not recording"]
            ratios.append(recording["rps"] / plain["rps"])
            cpu_ratios.append(recording["cpu_us_per_request"] / plain["cpu_us_per_request"])
    print(f"throughput with / without recording, per round: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"median: {statistics.median(ratios):.3f} (target >= 0.9)")
    print(f"Locust CPU per request with / without recording, median: {statistics.median(cpu_ratios):.3f}")


if __name__ == "__main__":
    main()

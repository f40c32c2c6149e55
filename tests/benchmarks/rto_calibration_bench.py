"""RTO measurement error against ground truth, printed (never asserted).

    .venv/bin/python tests/benchmarks/rto_calibration_bench.py [--trials 10] [--outage 3.0] [--rate 100]

Each trial disables a proxy on a path with no redundancy for exactly --outage
seconds (local backend) and compares the measured RTO with the outage as the
harness timed it: the proxy came back during the revert call, so the truth is
an interval, and the error is the distance from it. Target: max absolute error <= 50 ms at 100 probes/s.
"""

from __future__ import annotations

import argparse
import statistics

from harness.calibration import measure_known_outage
from harness.stack import StackSettings
from harness.stack.local import LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--outage", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    stack = LocalStack(StackSettings(project="failover-bench-calibration"))
    stack.up(progress=False)
    errors = []
    try:
        for trial in range(1, args.trials + 1):
            result = measure_known_outage(stack, args.outage, args.rate)
            measured = result.score.rto_s if result.score.rto_s is not None else float("inf")
            truth_from, truth_to = result.truth_s
            error = max(0.0, truth_from - measured, measured - truth_to)  # 0 inside the true interval
            errors.append(error)
            print(f"trial {trial:2d}: truth {truth_from:.4f}-{truth_to:.4f} s, measured {measured:.4f} s, "
                  f"bracket {tuple(round(x, 4) for x in result.score.rto_bracket_s or ())}, error {error * 1000:.1f} ms")
    finally:
        stack.down()
    print(f"RTO error over {len(errors)} trials at {args.rate:g} probes/s: mean {statistics.mean(errors) * 1000:.1f} ms, "
          f"max {max(errors) * 1000:.1f} ms (target max <= 50 ms), ratio {max(errors) / 0.050:.2f} of target")


if __name__ == "__main__":
    main()

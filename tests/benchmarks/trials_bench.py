"""The release gate over trials: wall time of an N-trial replica-kill suite and its p95 RTO with the
95% confidence interval (distribution-free, order statistics: harness/trials.py), printed.

    flock /tmp/failover-stack.lock .venv/bin/python tests/benchmarks/trials_bench.py [--trials 10]

Each trial is a whole run (stack up, warm-up, steady state, kill model-a, observe, down). Brings
stacks up (hence the lock) under a private FAILOVER_STATE_DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` is importable when run as a script

from harness.cli import main as failover

REPO = Path(__file__).resolve().parents[2]
PROJECT = "failover-bench-trials"
SCENARIO = REPO / "scenarios" / "ci" / "replica-kill.yaml"


def _seconds(value: float | None) -> str:
    return "unbounded" if value is None else f"{value:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FAILOVER_STATE_DIR"] = str(Path(tmp) / "state")
        reports = Path(tmp) / "reports"
        argv = ["run", str(SCENARIO), "--trials", str(args.trials), "--project", PROJECT, "--reports-dir", str(reports)]
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            code = failover(argv)
        elapsed = time.monotonic() - started
        (index,) = reports.glob("*-suite/index.json")
        (scenario,) = json.loads(index.read_text())["scenarios"]
    (fault,) = scenario["figures"]
    rto = fault["figures"]["rto"]
    low, high = rto["ci"]["p95"]
    print(
        f"replica-kill x {args.trials} trials: exit {code}, {scenario['verdict']}"
        f"{' (flaky)' if scenario['flaky'] else ''}; wall {elapsed:.1f} s ({elapsed / args.trials:.1f} s per trial)"
    )
    print(
        f"RTO p50 {_seconds(rto['stats']['p50'])}, p95 {_seconds(rto['stats']['p95'])} "
        f"(95% CI {_seconds(low)} to {_seconds(high)}), max {_seconds(rto['stats']['max'])}, "
        f"never recovered: {rto['never']}"
    )


if __name__ == "__main__":
    main()

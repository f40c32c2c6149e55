"""Whole-run figures of `failover run` on the local backend, printed (never asserted).

    flock /tmp/failover-stack.lock .venv/bin/python tests/benchmarks/run_bench.py [--trials 1]

- scenarios/ci/replica-kill.yaml: TTD (HAProxy marks model-a DOWN; target < 2 s), RTO, and
  the requests each load source made (targets: probes > 1000, Locust > 100);
- a blackout (every model server partitioned for 60 s, tests/integration/test_run_end_to_end.py)
  with a stop condition (availability below 50 % for 2 s): how long the faults were in
  place before the run aborted and reverted them, and the whole run (target < 45 s).

Brings stacks up (hence the lock) under a private FAILOVER_STATE_DIR.
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

from harness.cli import main as failover  # noqa: E402
from tests.integration.test_run_end_to_end import BLACKOUT, fault_durations  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PROJECT = "failover-bench-run"


def run(scenario: Path, reports: Path) -> tuple[int, float, Path]:
    """One `failover run` (its console output swallowed): exit code, seconds, the run's folder."""
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        code = failover(["run", str(scenario), "--project", PROJECT, "--reports-dir", str(reports)])
    elapsed = time.monotonic() - started
    (run_dir,) = reports.glob("*/result.json")
    return code, elapsed, run_dir.parent


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f} s"


def replica_kill(reports: Path) -> None:
    code, elapsed, run_dir = run(REPO / "scenarios" / "ci" / "replica-kill.yaml", reports)
    result = json.loads((run_dir / "result.json").read_text())
    (fault,) = result["faults"] or [{"ttd_s": None, "rto_s": None}]
    requests = result["requests"]
    print(
        f"replica-kill: exit {code}, {result['verdict']}, TTD {_seconds(fault['ttd_s'])} (target < 2 s), "
        f"RTO {_seconds(fault['rto_s'])}, requests: {requests['probe']} probes (target > 1000), "
        f"{requests['locust']} Locust (target > 100); run {elapsed:.1f} s"
    )


def blackout(reports: Path) -> None:
    reports.parent.mkdir(parents=True, exist_ok=True)
    scenario = reports.parent / "blackout.yaml"
    scenario.write_text(BLACKOUT)
    code, elapsed, run_dir = run(scenario, reports)
    events = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if line.strip()]
    held = [f"{seconds:.1f}" if seconds is not None else "never reverted" for seconds in fault_durations(events).values()]
    print(f"blackout: exit {code}, faults held {', '.join(held)} s of their 60 s; run {elapsed:.1f} s (target < 45)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="run-bench-") as tmp:
        os.environ["FAILOVER_STATE_DIR"] = str(Path(tmp) / "state")
        for trial in range(1, args.trials + 1):
            replica_kill(Path(tmp) / f"replica-kill-{trial}" / "reports")
            blackout(Path(tmp) / f"blackout-{trial}" / "reports")


if __name__ == "__main__":
    main()

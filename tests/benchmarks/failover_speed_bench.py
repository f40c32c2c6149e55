"""How fast the reference stack fails over, per backend, printed (never asserted).

    flock /tmp/failover-stack.lock .venv/bin/python tests/benchmarks/failover_speed_bench.py \
        [--backends local compose] [--scenarios replica-kill replica-pause] [--trials 3]

For each backend, `--trials` rounds of whole `failover run`s of scenarios/ci/replica-kill.yaml
(model-a SIGKILLed) and scenarios/replica-pause.yaml (model-a frozen), on one stack kept up
between runs (cold start is stack_bench.py's figure). Per run: TTD (HAProxy marks model-a DOWN),
RTO, failed requests and p99 latency during the fault; then min/median/max per scenario.
Targets (issue 12): replica-kill TTD <= 300 ms and p99 <= 150 ms with 0 failed requests on both
backends; replica-pause TTD <= 500 ms.

Brings stacks up (hence the lock; one backend at a time keeps each holding short) under a
private FAILOVER_STATE_DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` is importable when run as a script

from harness.cli import main as failover
from harness.stack import StackSettings, open_stack

REPO = Path(__file__).resolve().parents[2]
PROJECT = "failover-bench-speed"
SCENARIOS = {
    "replica-kill": REPO / "scenarios" / "ci" / "replica-kill.yaml",
    "replica-pause": REPO / "scenarios" / "replica-pause.yaml",
}


@dataclass(frozen=True)
class Trial:
    exit_code: int
    ttd_s: float | None
    rto_s: float | None
    failed: int
    requests: int
    p99_s: float | None


def run_fault(
    scenario: Path, backend: str, reports: Path, profile: str = "tuned", keep_up: bool = True
) -> tuple[int, dict[str, Any]]:
    """(exit code, the fault of result.json) of one `failover run` of a one-fault scenario, on a stack
    left up for the next one unless `keep_up` is False (its console output swallowed)."""
    reports.mkdir(parents=True)
    argv = ["run", str(scenario), "--backend", backend, "--project", PROJECT, "--reports-dir", str(reports)]
    argv += ["--profile", profile, *(["--keep-up"] if keep_up else [])]
    with contextlib.redirect_stdout(io.StringIO()):
        code = failover(argv)
    (result_file,) = reports.glob("*/result.json")
    result = json.loads(result_file.read_text())
    if not result["faults"]:
        raise SystemExit(f"{scenario.name} on {backend} ({profile}): no fault was injected: {json.dumps(result)[:800]}")
    (fault,) = result["faults"]
    return code, fault


def run_once(scenario: Path, backend: str, reports: Path) -> Trial:
    """One `failover run` (tuned profile) on a stack left up for the next one."""
    code, fault = run_fault(scenario, backend, reports)
    return Trial(
        code, fault["ttd_s"], fault["rto_s"], fault["failed_requests"], fault["requests"], fault["latency_p99_s"]
    )


def _ms(value: float | None) -> str:
    return "   none" if value is None else f"{value * 1000:7.0f}"


def _spread(values: list[float | None]) -> str:
    known = [value for value in values if value is not None]
    if not known:
        return "none"
    return f"{min(known) * 1000:.0f} / {statistics.median(known) * 1000:.0f} / {max(known) * 1000:.0f} ms"


def bench_backend(backend: str, names: list[str], trials: int, workdir: Path) -> None:
    results: dict[str, list[Trial]] = {name: [] for name in names}
    try:
        for trial in range(trials):
            for name in names:
                result = run_once(SCENARIOS[name], backend, workdir / f"{backend}-{name}-{trial}")
                results[name].append(result)
                print(
                    f"{backend:8s} {name:14s} trial {trial + 1}: exit {result.exit_code}, TTD {_ms(result.ttd_s)} ms, "
                    f"RTO {_ms(result.rto_s)} ms, failed {result.failed}/{result.requests}, "
                    f"p99 in the fault {_ms(result.p99_s)} ms",
                    flush=True,
                )
    finally:
        open_stack(backend, StackSettings(project=PROJECT)).down()
    for name, runs in results.items():
        print(
            f"{backend:8s} {name:14s} over {len(runs)} trials (min / median / max): "
            f"TTD {_spread([r.ttd_s for r in runs])}; RTO {_spread([r.rto_s for r in runs])}; "
            f"p99 {_spread([r.p99_s for r in runs])}; failed {sum(r.failed for r in runs)} of "
            f"{sum(r.requests for r in runs)} requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["local", "compose"], choices=["local", "compose"])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="failover-speed-") as tmp:
        os.environ["FAILOVER_STATE_DIR"] = str(Path(tmp) / "state")
        for backend in args.backends:
            bench_backend(backend, args.scenarios, args.trials, Path(tmp))


if __name__ == "__main__":
    main()

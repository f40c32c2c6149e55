"""Faults by hand, timed from the operator's side: `failover inject` to the fault in effect, and
`failover heal ID` to the fault gone, for a toxic and for a container (process) kill.

    flock /tmp/failover-stack.lock .venv/bin/python tests/benchmarks/inject_bench.py [--trials 5] [--backend local]

Each command runs as a new process, as an operator would run it (so the figures include Python's
start-up and the CLI's imports). Targets: toxic <= 100 ms and kill <= 1 s to take effect.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.adhoc import active_faults
from harness.faults.hop.toxic import toxiproxy_api
from harness.stack import StackSettings, open_stack
from harness.targets.reference import ReferenceTarget

PROJECT = "failover-inject-bench"
REPO = Path(__file__).resolve().parents[2]


def _cli(backend: str, *argv: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *argv, "--project", PROJECT, "--backend", backend]


def _until(condition: Callable[[], bool], started: float) -> float:
    while not condition():
        if time.monotonic() - started > 60:
            raise TimeoutError("the fault never changed state")
        time.sleep(0.005)
    return time.monotonic() - started


def _timed(command: list[str], condition: Callable[[], bool]) -> tuple[float, float]:
    """(seconds until `condition` held, seconds the command took)."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    effect = _until(condition, started)
    process.wait(timeout=60)
    return effect, time.monotonic() - started


def _trial(backend: str, inject: list[str], in_effect: Callable[[], bool]) -> tuple[float, float, float, float]:
    effect, inject_s = _timed(_cli(backend, "inject", *inject), in_effect)
    (fault,) = active_faults()
    gone, heal_s = _timed([sys.executable, "-m", "harness.cli", "heal", fault.id], lambda: not in_effect())
    return effect, inject_s, gone, heal_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--backend", default="local", choices=["local", "compose"])
    args = parser.parse_args()
    os.environ["FAILOVER_STATE_DIR"] = tempfile.mkdtemp(prefix="inject-bench-")
    settings = StackSettings(project=PROJECT)
    stack = open_stack(args.backend, settings)
    ReferenceTarget(settings).bring_up(stack, progress=False, timeout_s=240)
    api = toxiproxy_api(stack.endpoints().toxiproxy_url)
    cases = {
        "latency toxic": (
            ["latency", "gateway->model-a", "--latency", "100ms"],
            lambda: bool(api.get_proxy("gateway-model-a").toxics()),
        ),
        "kill model-b": (
            ["kill", "model-b"],
            lambda: {s.name: s.state for s in stack.status()}["model-b"] != "running",
        ),
    }
    try:
        print(f"{args.trials} trials each, backend {args.backend}; seconds, median [max]")
        print(f"{'fault':14s} {'in effect':>16s} {'inject cmd':>16s} {'gone':>16s} {'heal cmd':>16s}")
        for name, (inject, in_effect) in cases.items():
            runs = [_trial(args.backend, inject, in_effect) for _ in range(args.trials)]
            columns = [[run[i] for run in runs] for i in range(4)]
            shown = "".join(f" {statistics.median(c):9.3f} [{max(c):5.3f}]" for c in columns)
            print(f"{name:14s}{shown}", flush=True)
    finally:
        stack.down()


if __name__ == "__main__":
    main()

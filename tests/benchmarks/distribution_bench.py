"""TTD, RTO and failed requests over many trials, tuned against default, printed (never asserted).

    flock /tmp/failover-stack.lock .venv/bin/python tests/benchmarks/distribution_bench.py \
        --scenarios replica-pause --profiles tuned --trials 20 --save /tmp/dist-results
    .venv/bin/python tests/benchmarks/distribution_bench.py --table /tmp/dist-results

Issue 12, item 2: each reference scenario (replica-kill, replica-pause, store-primary-kill) >= 20
whole `failover run`s per profile (`harness/stack/profiles.py`), local backend unless `--backends`
says otherwise. Per scenario x profile: p50 / p95 / max of TTD, RTO, failed requests and p99
latency in the fault, with the distribution-free 95% intervals of p50 and p95 from
`harness/trials.py` (nearest rank, as the release gate counts them: a detection or recovery that
never came is infinite, "never"); then per scenario the ratio default / tuned of the medians, by
`failover compare`'s rules (x / 0 is "∞", 0 / 0 "same (both 0)", never an invented number).
Goal (issue 12): default / tuned RTO >= 50x on replica-pause and store-primary-kill.

Each trial's figures are appended to SAVE/<backend>-<scenario>-<profile>.jsonl, so invocations
add up: run one scenario and profile per `flock` call (others need the stack between them) and
print the table over everything saved with `--table`. Within one invocation the stack stays up
between trials (cold start is stack_bench.py's figure) and comes down at the end, so the next
invocation may use another profile; store-primary-kill brings a fresh stack up for each trial,
since after a tuned trial Sentinel has promoted redis-2 and killing redis-1 again would kill a
replica.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` is importable when run as a script

from harness.report import formatting as fmt
from harness.report.compare import Cell, ratio
from harness.stack import Backend, StackSettings, open_stack
from harness.stack.profiles import profile_names
from harness.trials import UNITS, quantile_ci, statistic, trial_figure
from tests.benchmarks.failover_speed_bench import PROJECT, REPO, run_fault
from tests.benchmarks.failover_speed_bench import SCENARIOS as SPEED_SCENARIOS

SCENARIOS = {**SPEED_SCENARIOS, "store-primary-kill": REPO / "scenarios" / "store-primary-kill.yaml"}
FRESH_STACK_EACH_TRIAL = frozenset({"store-primary-kill"})  # the fault moves the role it targets
METRICS = {"ttd": "TTD", "rto": "RTO", "failed_requests": "failed requests", "latency_p99": "p99 in the fault"}
RATIO_METRICS = ("ttd", "rto", "failed_requests")
KEPT = ("ttd_s", "rto_s", "failed_requests", "requests", "latency_p99_s", "not_measured")
"""The fields of a result.json fault that `trial_figure` reads for `METRICS`."""


def bench(backend: Backend, scenario: str, profile: str, trials: int, save: Path, workdir: Path) -> None:
    """`trials` runs of one scenario on one profile, each appended to its file in `save` as it ends."""
    fresh = scenario in FRESH_STACK_EACH_TRIAL
    out = save / f"{backend}-{scenario}-{profile}.jsonl"
    try:
        for trial in range(1, trials + 1):
            reports = workdir / f"{backend}-{scenario}-{profile}-{trial}"
            code, fault = run_fault(SCENARIOS[scenario], backend, reports, profile, keep_up=not fresh)
            with out.open("a") as lines:
                lines.write(json.dumps({"exit_code": code, "fault": {key: fault.get(key) for key in KEPT}}) + "\n")
            figures = ", ".join(f"{label} {_text(trial_figure(fault, metric)[0], metric)}" for metric, label in METRICS.items())
            print(f"{backend} {scenario} {profile} trial {trial}: exit {code}, {figures} "
                  f"(of {fault['requests']} requests)", flush=True)  # fmt: skip
    finally:
        if not fresh:
            open_stack(backend, StackSettings(project=PROJECT)).down()


def _text(value: float | None, metric: str) -> str:
    if value is None:
        return "not measured"
    if math.isinf(value):
        return "never"
    return f"{value:.0f}" if UNITS.get(metric) == "count" else fmt.seconds(value)


def load_saved(save: Path) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """(backend, scenario, profile) -> the saved faults, in trial order."""
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for path in sorted(save.glob("*.jsonl")):
        backend, rest = path.stem.split("-", 1)
        scenario, profile = rest.rsplit("-", 1)
        runs[(backend, scenario, profile)] = [json.loads(line)["fault"] for line in path.read_text().splitlines()]
    return runs


def _values(faults: list[dict[str, Any]], metric: str) -> list[float] | str:
    """The figures of every trial, or why one trial could not measure it."""
    values = []
    for trial, fault in enumerate(faults, start=1):
        value, why = trial_figure(fault, metric)
        if value is None:
            return f"not measured in trial {trial} ({why})"
        values.append(value)
    return values


def _with_ci(values: list[float], stat: str, metric: str) -> str:
    low, high = quantile_ci(values, stat)
    bound = "unbounded"
    return (f"{_text(statistic(values, stat), metric)} "
            f"[{bound if low is None else _text(low, metric)}, {bound if high is None else _text(high, metric)}]")  # fmt: skip


def distribution_rows(runs: dict[tuple[str, str, str], list[dict[str, Any]]]) -> list[str]:
    rows = ["| backend | scenario | profile | metric | trials | p50 [95% CI] | p95 [95% CI] | max |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for (backend, scenario, profile), faults in sorted(runs.items()):
        for metric, label in METRICS.items():
            values = _values(faults, metric)
            if isinstance(values, str):
                rows.append(f"| {backend} | {scenario} | {profile} | {label} | {len(faults)} | {values} | | |")
                continue
            rows.append(f"| {backend} | {scenario} | {profile} | {label} | {len(values)} | "
                        f"{_with_ci(values, 'p50', metric)} | {_with_ci(values, 'p95', metric)} | "
                        f"{_text(statistic(values, 'max'), metric)} |")  # fmt: skip
    return rows


def _median_cell(faults: list[dict[str, Any]], metric: str) -> Cell:
    values = _values(faults, metric)
    if isinstance(values, str):
        return Cell(value=None, text=values)
    median = statistic(values, "p50")
    return Cell(value=None if math.isinf(median) else median, never=math.isinf(median), text=_text(median, metric))


def ratio_rows(runs: dict[tuple[str, str, str], list[dict[str, Any]]], base: str, other: str) -> list[str]:
    rows = [f"| backend | scenario | metric | {base} p50 (trials) | {other} p50 (trials) | {other} / {base} |",
            "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    pairs = sorted({(backend, scenario) for backend, scenario, _ in runs})
    for backend, scenario in pairs:
        if (backend, scenario, base) not in runs or (backend, scenario, other) not in runs:
            continue
        base_runs, other_runs = runs[(backend, scenario, base)], runs[(backend, scenario, other)]
        for metric in RATIO_METRICS:
            base_cell, other_cell = _median_cell(base_runs, metric), _median_cell(other_runs, metric)
            rows.append(f"| {backend} | {scenario} | {METRICS[metric]} | {base_cell.text} ({len(base_runs)}) | "
                        f"{other_cell.text} ({len(other_runs)}) | {ratio(other_cell, base_cell).text} |")  # fmt: skip
    return rows


def print_tables(save: Path) -> None:
    runs = load_saved(save)
    print("\n".join(distribution_rows(runs)))
    print()
    print("\n".join(ratio_rows(runs, "tuned", "default")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["local"], choices=["local", "compose"])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--profiles", nargs="+", default=profile_names(), choices=profile_names())
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--save", type=Path, default=Path("/tmp/dist-results"), help="Where each trial's figures are appended.")
    parser.add_argument("--table", type=Path, help="Run nothing: print the tables over the figures saved in this folder.")
    parser.add_argument("--runs", type=Path, help="Keep each trial's run folder (report, records, the stack's logs) here.")
    args = parser.parse_args()
    if args.table is not None:
        print_tables(args.table)
        return
    args.save.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="failover-dist-") as tmp:
        os.environ["FAILOVER_STATE_DIR"] = str(Path(tmp) / "state")
        runs = args.runs or Path(tmp)
        for backend in args.backends:
            for scenario in args.scenarios:
                for profile in args.profiles:
                    bench(backend, scenario, profile, args.trials, args.save, runs)
    print_tables(args.save)


if __name__ == "__main__":
    main()

"""Where a store failover's time goes, phase by phase, read from the logs runs keep (`logs/`).

    .venv/bin/python tests/benchmarks/sentinel_phases.py RUN_DIR_OR_FOLDER...

For every run of store-primary-kill under the given folders (any folder holding a result.json and
logs/sentinel-*.log), the moments after the kill at which: redis-2 lost its primary, the first
Sentinel declared it subjectively down (+sdown), a failover was tried (+try-failover), a leader was
elected, SLAVEOF NO ONE was sent (+failover-state-wait-promotion), the Sentinels saw the promotion
(+promoted-slave), announced the switch (+switch-master), and clients were served again (the run's
RTO). Then the median of each phase's length over the runs.

The Sentinel and Redis lines carry their own millisecond timestamps (the processes run in UTC, as
the containers and this machine do); the kill is the run's `injected_at`.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

STAMP = re.compile(r"(\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) [#*-] (.*)")
MILESTONES = {
    "primary lost": ("redis-2", "Connection with master lost"),
    "+sdown": ("sentinel", "+sdown master"),
    "+try-failover": ("sentinel", "+try-failover"),
    "+elected-leader": ("sentinel", "+elected-leader"),
    "SLAVEOF NO ONE sent": ("sentinel", "+failover-state-wait-promotion"),
    "+promoted-slave": ("sentinel", "+promoted-slave"),
    "+switch-master": ("sentinel", "+switch-master"),
}


def _first(lines: list[str], text: str, after: float) -> float | None:
    """The earliest moment (epoch s) a line containing `text` was logged, after `after`."""
    moments = []
    for line in lines:
        match = STAMP.search(line)
        if match and text in match.group(2):
            moment = datetime.strptime(match.group(1), "%d %b %Y %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
            if moment >= after:
                moments.append(moment)
    return min(moments, default=None)


def phases(run_dir: Path) -> dict[str, float | None]:
    """Seconds after the kill of each milestone, and 'served again' (the RTO)."""
    fault = json.loads((run_dir / "result.json").read_text())["faults"][0]
    killed = fault["injected_at"]
    logs = {
        "redis-2": (run_dir / "logs" / "redis-2.log").read_text().splitlines(),
        "sentinel": [line for path in sorted((run_dir / "logs").glob("sentinel-*.log")) for line in path.read_text().splitlines()],
    }
    moments: dict[str, float | None] = {}
    for name, (source, text) in MILESTONES.items():
        moment = _first(logs[source], text, killed - 0.05)
        moments[name] = None if moment is None else moment - killed
    moments["served again (RTO)"] = fault["rto_s"]
    return moments


def _runs(folders: list[Path]) -> list[Path]:
    return sorted(
        result.parent
        for folder in folders
        for result in folder.rglob("result.json")
        if (result.parent / "logs" / "redis-2.log").exists() and "store-primary-kill" in result.parent.name
    )


def main() -> None:
    runs = _runs([Path(arg) for arg in sys.argv[1:]])
    if not runs:
        raise SystemExit("no store-primary-kill run with kept logs under " + " ".join(sys.argv[1:]))
    table = [phases(run) for run in runs]
    names = list(table[0])
    print("seconds after the kill, per run:")
    print(" | ".join(["run", *names]))
    for run, row in zip(runs, table, strict=True):
        print(" | ".join([run.name, *("-" if row[n] is None else f"{row[n]:.3f}" for n in names)]))
    print(f"\nmedian over {len(runs)} runs: moment after the kill, and the phase since the previous milestone")
    previous = 0.0
    for name in names:
        values = [row[name] for row in table if row[name] is not None]
        if not values:
            print(f"  {name:22} not seen")
            continue
        median = statistics.median(values)
        print(f"  {name:22} {median:6.3f} s  (+{median - previous:.3f} s; min {min(values):.3f}, max {max(values):.3f})")
        previous = median


if __name__ == "__main__":
    main()

"""Bad push to rollback complete: the guardian's defaults beside Flagger-like timing, in one run.

    flock /tmp/failover-stack.lock .venv/bin/python tests/benchmarks/rollback_bench.py \\
        [--backend local] [--trials 10] [--flagger-trials 2] [--compose-file FILE] [--fixtures DIR]

Per trial, once the guardian has proven the champion v2 good: `champion` is
moved to v3 (valid, 47.5 % accurate) by replacing the manifest atomically, as a
deploy does; the trial ends when the guardian's `verified` event says every
replica answers with the version rolled back to. Printed per trial and as
p50/p95 per profile, from the push: served (the guardian's first probe answered
by v3), detect, decide, rollback (alias written), verified (rollback complete).
The headline is the ratio of Flagger-like to default p50 and p95.

FLAGGER_LIKE (compose/guardian/guardian/config.py): analysis every 60 s,
rollback after 5 failed checks, so a trial takes about 5 minutes; its trials
are capped with --flagger-trials (fewer than --trials, said in the output).
Needs model servers that follow the registry's aliases (hot reload).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harness.stack import Stack, StackSettings, open_stack
from harness.stack.spec import DEFAULT_COMPOSE_FILE
from harness.targets.reference import ReferenceTarget

REPO = Path(__file__).resolve().parents[2]
PHASES = ("served", "detect", "decide", "rollback", "verified")
PROFILES = {"default": (0.25, 90.0), "flagger-like": (60.0, 900.0)}
"""Profile -> (its analysis interval, seconds a trial may take before it is reported as not rolled back)."""
PAUSE_S = 1.0
"""Between a verified rollback and the next push (no deploy follows a rollback within milliseconds), plus a
random share of the analysis interval: the guardian proves v2 good at an analysis, so pushing as soon as it
has would always land just after one (the worst case for a 60 s interval), never at a random phase."""


def set_champion(registry: Path, version: str) -> float:
    """Replace the manifest atomically with `champion` moved; the time of the replace."""
    path = registry / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["aliases"]["champion"] = version
    fd, temp = tempfile.mkstemp(dir=registry, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
    return time.time()


def guardian(stack: Stack, path: str) -> Any:
    host, port = stack.endpoints().address("guardian")
    return httpx.get(f"http://{host}:{port}{path}", timeout=2).json()


def wait(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout_s:.0f} s")
        time.sleep(0.2)


def champion_settled(stack: Stack, version: str) -> bool:
    health = guardian(stack, "/health")
    replicas = health["replicas"]
    return (
        version in health["good_versions"]
        and not health["verifying"]
        and health["pending_write"] is None
        and {r["version"] for r in replicas.values()} == {version}
    )


def trial(stack: Stack, registry: Path, profile: str, phase: random.Random) -> dict[str, float] | None:
    """Seconds from the push to each phase; None when no rollback completed in time."""
    interval_s, timeout_s = PROFILES[profile]
    wait(lambda: champion_settled(stack, "v2"), 120 + interval_s, "v2 proven good on every replica")
    time.sleep(PAUSE_S + phase.uniform(0, interval_s))
    pushed = set_champion(registry, "v3")
    events: list[dict[str, Any]] = []

    def verified() -> bool:
        events[:] = [e for e in guardian(stack, "/events") if e["t"] >= pushed]
        return any(e["kind"] == "verified" for e in events)

    try:
        wait(verified, timeout_s, "rollback verified")
    except TimeoutError:
        set_champion(registry, "v2")
        return None
    first = {e["kind"]: e for e in reversed(events)}
    phases = {kind: first[kind]["t"] - pushed for kind in PHASES[1:] if kind in first}
    phases["served"] = first["detect"]["evidence"]["window"]["first_t"] - pushed
    return phases


def run_profile(args: argparse.Namespace, profile: str, trials: int) -> list[dict[str, float] | None]:
    root = Path(tempfile.mkdtemp(prefix="rollback-bench-"))
    fixtures = root / "fixtures"
    shutil.copytree(args.fixtures, fixtures, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    os.environ["FAILOVER_STATE_DIR"] = str(root / "state")
    settings = StackSettings(
        project="failover-rollback-bench",
        compose_file=args.compose_file,
        fixtures_dir=fixtures,
        extra_env={"FAILOVER_GUARDIAN_PROFILE": profile},
    )
    stack = open_stack(args.backend, settings)
    results = []
    phase = random.Random(1729)
    try:
        ReferenceTarget(settings).bring_up(stack, progress=False, timeout_s=240)
        for number in range(1, trials + 1):
            result = trial(stack, settings.registry_dir, profile, phase)
            shown = (
                "not rolled back"
                if result is None
                else "  ".join(f"{k} {result[k]:6.2f}" for k in PHASES if k in result)
            )
            print(f"  {profile:12s} trial {number:2d}: {shown}", flush=True)
            results.append(result)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    return results


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(profile: str, results: list[dict[str, float] | None]) -> dict[str, float]:
    done = [r for r in results if r is not None]
    print(f"{profile}: {len(done)}/{len(results)} trials rolled back")
    figures = {}
    for phase in PHASES:
        values = [r[phase] for r in done if phase in r]
        if values:
            p50, p95 = statistics.median(values), quantile(values, 0.95)
            figures[phase] = (p50, p95)
            print(f"  {phase:9s} p50 {p50:7.2f} s   p95 {p95:7.2f} s   (n={len(values)})")
    return {
        f"{phase}_{name}": value
        for phase, (p50, p95) in figures.items()
        for name, value in (("p50", p50), ("p95", p95))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="local", choices=["local", "compose"])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--flagger-trials", type=int, default=2, help="Flagger-like trials take ~5 min each")
    parser.add_argument("--compose-file", type=Path, default=DEFAULT_COMPOSE_FILE, help="the stack (a variant of it)")
    parser.add_argument("--fixtures", type=Path, default=REPO / "fixtures", help="copied; the copy is the registry")
    args = parser.parse_args()
    default = summary("default", run_profile(args, "default", args.trials))
    flagger_trials = min(args.flagger_trials, args.trials)
    if flagger_trials < args.trials:
        print(f"(Flagger-like capped at {flagger_trials} trials: about 5 minutes each)")
    if flagger_trials == 0:
        return
    flagger = summary("flagger-like", run_profile(args, "flagger-like", flagger_trials))
    for stat in ("p50", "p95"):
        key = f"verified_{stat}"
        if key in default and key in flagger:
            print(
                f"rollback complete {stat}: default {default[key]:.2f} s, Flagger-like {flagger[key]:.2f} s, "
                f"ratio {flagger[key] / default[key]:.0f}x"
            )


if __name__ == "__main__":
    main()

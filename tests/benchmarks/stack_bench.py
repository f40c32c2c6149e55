"""Stack figures, measured side by side in one run and printed (never asserted).

    .venv/bin/python tests/benchmarks/stack_bench.py [--backends local compose] [--rate 200] [--seconds 15] [--base-image]

- cold start to healthy with images cached, per backend (targets: compose <= 30 s, local <= 10 s);
- prediction latency through the gateway at --rate req/s, p50/p99 (targets <= 5 ms / <= 20 ms),
  and the same with the Toxiproxy hops bypassed, as a ratio (target <= 1.2x);
- how often HAProxy's health checks marked a server DOWN meanwhile (false DOWNs: target 0);
- with --base-image: the first offline base-image build (removes and rebuilds failover-base:bookworm).
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import subprocess
import time
from pathlib import Path

import httpx

from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.stack import StackSettings, open_stack
from harness.targets.reference import ReferenceTarget

REPO = Path(__file__).resolve().parents[2]
BYPASS_TOXIPROXY = {
    "FAILOVER_GATEWAY_TO_A": "model-a:8001",
    "FAILOVER_GATEWAY_TO_B": "model-b:8002",
    "FAILOVER_GATEWAY_TO_FALLBACK": "model-fallback:8003",
    **{
        f"FAILOVER_{name}_TO_REDIS": "redis-1:16379=redis-1:16379,redis-2:16380=redis-2:16380"
        for name in ("A", "B", "FALLBACK")
    },
}


def cold_start(backend: str, extra_env: dict[str, str]) -> tuple[float, object]:
    stack = open_stack(backend, StackSettings(project="failover-bench", extra_env=extra_env))
    stack.down()
    started = time.perf_counter()
    ReferenceTarget(stack.settings).bring_up(stack, progress=False)
    return time.perf_counter() - started, stack


def checks_down(stats_url: str) -> int:
    """How many times HAProxy's checks took a server of the `models` backend DOWN so far (`chkdown`)."""
    text = httpx.get(f"{stats_url}/stats;csv;norefresh", timeout=5).text.lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    return sum(int(row["chkdown"] or 0) for row in rows if row["pxname"] == "models" and row["svname"] != "BACKEND")


def latency(entry: EntryPoint, stats_url: str, rate: float, seconds: float) -> dict[str, float]:
    with ProbeStream(entry, load_payloads(entry.payloads), rate=rate, timeout_s=2.0) as probe:
        time.sleep(1.0)  # warm-up, discarded
        warm = len(probe.records())
        downs_before = checks_down(stats_url)
        time.sleep(seconds)
    downs = checks_down(stats_url) - downs_before
    records = probe.stop()[warm:]
    latencies = sorted(record.latency_s * 1000 for record in records if record.ok)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(records),
        "failed": sum(not record.ok for record in records),
        "p50_ms": quantiles[49],
        "p99_ms": quantiles[98],
        "false_downs": downs,
    }


def base_image_build() -> float:
    subprocess.run(["docker", "rmi", "-f", "failover-base:bookworm"], capture_output=True, check=False)
    started = time.perf_counter()
    subprocess.run(["bash", str(REPO / "compose/setup/base-image.sh")], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["local", "compose"])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--base-image", action="store_true")
    args = parser.parse_args()
    if args.base_image:
        print(f"base image: first offline build {base_image_build():.1f} s")
    for backend in args.backends:
        results = {}
        for label, env in (("toxiproxy", {}), ("bypassed", BYPASS_TOXIPROXY)):
            seconds, stack = cold_start(backend, env)
            try:
                stats_url = stack.endpoints().stats_url  # type: ignore[attr-defined]
                entry = ReferenceTarget(stack.settings).entry  # type: ignore[attr-defined]
                results[label] = latency(entry, stats_url, args.rate, args.seconds)
            finally:
                stack.down()  # type: ignore[attr-defined]
            print(f"{backend:8s} {label:10s} cold start to healthy {seconds:5.1f} s")
        for label, figures in results.items():
            print(
                f"{backend:8s} {label:10s} {args.rate:.0f} req/s: {figures['requests']:.0f} requests, "
                f"{figures['failed']:.0f} failed, p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
                f"servers marked DOWN by checks {figures['false_downs']:.0f}"
            )
        via, direct = results["toxiproxy"], results["bypassed"]
        print(
            f"{backend:8s} ratio with/without Toxiproxy hops: p50 {via['p50_ms'] / direct['p50_ms']:.2f}x, "
            f"p99 {via['p99_ms'] / direct['p99_ms']:.2f}x (target <= 1.2x)"
        )


if __name__ == "__main__":
    main()

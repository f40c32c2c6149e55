"""Locust figures against the integration tests' fake model server, printed (never asserted).

    .venv/bin/python tests/benchmarks/locust_bench.py [--users 20] [--seconds 10] [--rounds 3]
        [--figures recording workers rate timeouts stop] [--workers 0 1 2 4] [--control]

- recording: the same unthrottled run with per-request recording and without, for a few
  rounds in alternating order (a busy machine makes single runs noisy). Prints Locust's
  throughput, its CPU use in steady state and CPU per request for every run, and the
  throughput ratio per round and its median (target >= 0.9). With --control, every round also
  has a second run without recording: its ratio to the first (1 but for noise) is the noise
  floor. On the shared 2-core machine it spread as wide as the recording ratio (0.52-1.38 in
  6 rounds), while recording's own work is about 3 us of a request's 160-220 us of CPU.
- workers: the same unthrottled run as one process (0) and as a master with 1, 2, 4 workers
  (Locust's distributed mode), each with and without recording, all in one run, in alternating
  order over the rounds. Prints every run (requests/s, CPU of all Locust processes and of the
  fake server), then per configuration the medians, recording / not recording (target >= 0.9)
  and the throughput against one process (its ceiling is the first line).
- rate: the rate a throttled run achieves after its first second (target within 30 %).
- timeouts: the latency recorded for requests timing out at 0.5 s (target 0.4-1.5 s).
- stop: how long `stop()` takes on a Locust stuck on stalled requests (grace 0.5 s; target < 3 s).

The fake model server runs in this process, on a free 127.0.0.1 port.
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
from tests.integration._procs import wait_for  # noqa: E402
from tests.integration.test_locust_run import FakeModelServer, _entry, serve  # noqa: E402

WARM_UP_S = 1.0
FIGURES = ("recording", "workers", "rate", "timeouts", "stop")


def _cpu_s(processes: list[psutil.Process]) -> float:
    return sum(sum(process.cpu_times()[:2]) for process in processes)


def measure(url: str, workdir: Path, users: int, seconds: float, record: bool, workers: int = 0) -> dict[str, float]:
    """One unthrottled run; the CPU of every Locust process (and of this process, which
    serves the fake model server) is sampled after the warm-up, when all users run."""
    run = LocustRun(_entry(url), workdir, users=users, rate=0, record=record, workers=workers)
    server = psutil.Process()
    with run:
        locust = [psutil.Process(pid) for pid in run.pids]
        time.sleep(WARM_UP_S)
        cpu_before, server_before, wall_before = _cpu_s(locust), _cpu_s([server]), time.monotonic()
        time.sleep(seconds - WARM_UP_S)
        cpu_s, wall_s = _cpu_s(locust) - cpu_before, time.monotonic() - wall_before
        server_s = _cpu_s([server]) - server_before
    stats = run.locust_stats()
    rps = float(stats["rps"] or 0)
    return {
        "requests": float(stats["requests"] or 0),
        "records": float(len(run.records())),
        "rps": rps,
        "cpu_pct": 100 * cpu_s / wall_s,
        "server_cpu_pct": 100 * server_s / wall_s,
        "cpu_us_per_request": 1e6 * cpu_s / wall_s / rps if rps else float("nan"),
    }


def recording_cost(args: argparse.Namespace) -> None:
    """Recording and not (and with --control, not again) in every round; the order rotates every round."""
    print(f"{args.users} users, unthrottled, {args.seconds:g} s per run, fake model server on 127.0.0.1")
    print(f"{'round':5} {'':14} {'requests':>9} {'records':>8} {'req/s':>8} {'Locust CPU':>11} {'CPU/request':>12}"
          f" {'server CPU':>11}")
    modes = [("recording", True), ("not recording", False)] + ([("not recording 2", False)] if args.control else [])
    ratios, cpu_ratios, control_ratios = [], [], []
    app = FakeModelServer()
    with serve(app) as url, tempfile.TemporaryDirectory(prefix="locust-bench-") as tmp:
        for round_ in range(1, args.rounds + 1):
            shift = (round_ - 1) % len(modes)
            results = {}
            for label, record in modes[shift:] + modes[:shift]:
                app.request_ids.clear()  # the server (in this process) keeps no list growing over the rounds
                workdir = Path(tmp) / f"{round_}-{label.replace(' ', '-')}"
                results[label] = figures = measure(url, workdir, args.users, args.seconds, record)
                print(
                    f"{round_:<5} {label:14} {figures['requests']:9.0f} {figures['records']:8.0f}"
                    f" {figures['rps']:8.0f} {figures['cpu_pct']:10.0f}% {figures['cpu_us_per_request']:9.0f} us"
                    f" {figures['server_cpu_pct']:10.0f}%"
                )
            recording, plain = results["recording"], results["not recording"]
            ratios.append(recording["rps"] / plain["rps"])
            cpu_ratios.append(recording["cpu_us_per_request"] / plain["cpu_us_per_request"])
            if args.control:
                control_ratios.append(results["not recording 2"]["rps"] / plain["rps"])
    print(f"throughput with / without recording, per round: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"median: {statistics.median(ratios):.3f} (target >= 0.9)")
    print(f"Locust CPU per request with / without recording, median: {statistics.median(cpu_ratios):.3f}")
    if control_ratios:
        print(f"control, not recording / not recording, per round: {', '.join(f'{r:.3f}' for r in control_ratios)};"
              f" median {statistics.median(control_ratios):.3f} (1 but for noise)")


def workers_scaling(args: argparse.Namespace) -> None:
    """Every worker count with and without recording in each round; the order reverses every round."""
    configs = [(workers, record) for workers in args.workers for record in (True, False)]
    print(f"{args.users} users, unthrottled, {args.seconds:g} s per run, fake model server on 127.0.0.1,"
          f" {psutil.cpu_count()} cores")
    print(f"{'round':5} {'workers':>7} {'':14} {'requests':>9} {'records':>8} {'req/s':>8}"
          f" {'Locust CPU':>11} {'server CPU':>11}")
    rps: dict[tuple[int, bool], list[float]] = {config: [] for config in configs}
    cpu: dict[tuple[int, bool], list[float]] = {config: [] for config in configs}
    app = FakeModelServer()
    with serve(app) as url, tempfile.TemporaryDirectory(prefix="locust-bench-") as tmp:
        for round_ in range(1, args.rounds + 1):
            for workers, record in configs if round_ % 2 else configs[::-1]:
                app.request_ids.clear()
                label = "recording" if record else "not recording"
                workdir = Path(tmp) / f"{round_}-{workers}-{label.replace(' ', '-')}"
                figures = measure(url, workdir, args.users, args.seconds, record, workers)
                rps[workers, record].append(figures["rps"])
                cpu[workers, record].append(figures["cpu_pct"])
                print(f"{round_:<5} {workers:7} {label:14} {figures['requests']:9.0f} {figures['records']:8.0f}"
                      f" {figures['rps']:8.0f} {figures['cpu_pct']:10.0f}% {figures['server_cpu_pct']:10.0f}%")
    ceiling = statistics.median(rps[args.workers[0], False])
    print(f"medians over {args.rounds} rounds (workers 0: one process, no master)")
    print(f"{'workers':>7} {'req/s recording':>16} {'req/s not':>10} {'recording/not':>14} {'Locust CPU':>11}"
          f" {'vs first line':>14}")
    for workers in args.workers:
        ratios = [with_ / without for with_, without in zip(rps[workers, True], rps[workers, False], strict=True)]
        not_recording = statistics.median(rps[workers, False])
        print(f"{workers:7} {statistics.median(rps[workers, True]):16.0f} {not_recording:10.0f}"
              f" {statistics.median(ratios):14.3f} {statistics.median(cpu[workers, True]):10.0f}%"
              f" {not_recording / ceiling:14.2f}")
    print("recording/not: median of the per-round ratios (target >= 0.9)")


def rate_accuracy(workdir: Path, rate: float = 40, users: int = 4, seconds: float = 4) -> None:
    """The request rate a throttled run achieves once its users are spawned (after its first second)."""
    with serve(FakeModelServer()) as url, LocustRun(_entry(url), workdir, users=users, rate=rate) as run:
        time.sleep(seconds)
    sent = [record["sent_at"] for record in run.records()]
    steady = [at for at in sent if at >= sent[0] + 1]
    achieved = (len(steady) - 1) / (steady[-1] - steady[0])
    print(f"throttled run, {users} users at {rate:g} req/s: achieved {achieved:.1f} req/s, "
          f"{achieved / rate:.2f} of the target (target 0.7-1.3)")


def timeout_latency(workdir: Path, timeout_s: float = 0.5, seconds: float = 2) -> None:
    """The latency recorded for requests that time out against a server that does not answer."""
    app = FakeModelServer()
    app.mode = "stall"
    with serve(app) as url, LocustRun(_entry(url), workdir, users=2, rate=4, timeout_s=timeout_s) as run:
        time.sleep(seconds)
    latencies = sorted(record["latency_s"] for record in run.records())
    print(f"{len(latencies)} requests timing out at {timeout_s:g} s: latency min {latencies[0]:.3f} s, "
          f"median {statistics.median(latencies):.3f} s, max {latencies[-1]:.3f} s (target 0.4-1.5 s)")


def stop_time(workdir: Path, grace_s: float = 0.5) -> None:
    """How long stop() takes when Locust would wait a minute for stalled answers."""
    app = FakeModelServer()
    app.mode, app.stall_s = "stall", 60.0
    with serve(app) as url:
        run = LocustRun(_entry(url), workdir, users=2, rate=10, timeout_s=60)
        run.stop_grace_s = grace_s
        run.start()
        wait_for(lambda: len(app.request_ids) > 0, 10, "a request in flight")
        started = time.monotonic()
        run.stop()
        elapsed = time.monotonic() - started
    print(f"stop() of a Locust stuck on stalled requests, grace {grace_s:g} s: {elapsed:.2f} s (target < 3 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs, in alternating order")
    parser.add_argument("--figures", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--control", action="store_true", help="recording: a second run without recording per round")
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 1, 2, 4], help="worker counts (0: one process)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="locust-bench-") as tmp:
        if "recording" in args.figures:
            recording_cost(args)
        if "workers" in args.figures:
            workers_scaling(args)
        if "rate" in args.figures:
            rate_accuracy(Path(tmp) / "rate")
        if "timeouts" in args.figures:
            timeout_latency(Path(tmp) / "timeouts")
        if "stop" in args.figures:
            stop_time(Path(tmp) / "stop")


if __name__ == "__main__":
    main()

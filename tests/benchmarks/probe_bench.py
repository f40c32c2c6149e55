"""How fast one probe process sends open-loop probes on schedule, printed (never asserted).

    PYTHONPATH=$PWD .venv/bin/python tests/benchmarks/probe_bench.py [--rates 100 250 500 1000 2000 4000 8000]
        [--seconds 6] [--stall 1.0] [--timeout 2.0] [--nice -10]
    PYTHONPATH=$PWD .venv/bin/python tests/benchmarks/probe_bench.py --brackets 3 --rates 10 100 500 1000

For each rate, the real probe process (`ProbeProcess`, as a scenario runs it)
sends to a minimal HTTP server on 127.0.0.1 in a process of its own, twice:

- steady: the server answers at once.
- stall: the server holds every answer for --stall seconds in the middle of the
  run (a hung stack). An open-loop stream keeps sending during the stall; a
  stream that waits for answers (coordinated omission) sends fewer requests
  then. The server counts the requests that arrived during the stall, against
  rate x stall planned; the client's peak of probes in flight shows the growth.

Printed per run: probes sent and the achieved rate; lateness (request start
minus its planned time, from the stream's own `ScheduleLog`) p50/p99/max; how
much further behind its schedule the stream was in its last second than in
its first (drift); the largest gap between consecutive probes (what an RTO
bracket can resolve), during the stall too; the probe process's CPU use.
--nice renices the probe process, to see how much of the lateness is other
processes taking the CPU.

--brackets N: instead, N trials per rate of a real 1 s outage (a partition
through a private toxiproxy-server in front of the server), scored as a run
scores a fault: RTO, the bracket's width and `rto_resolution_s`.

Two ceilings, each the highest rate up to which every run passed:
- sustained: the stream keeps its rate: >= 99 % of the planned probes sent,
  < 10 ms further behind its schedule at the end than at the start (no
  drift), and >= 90 % of the probes planned during the stall reached the
  server during it (no coordinated omission).
- accurate: sustained, and 99 % of the probes started within half an interval
  of their plan (so their spacing stays within 0.5-1.5 intervals), 1 ms at
  least (gevent's timers wake in whole milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` is importable when run as a script

from harness.errors import InfrastructureError  # noqa: E402
from harness.faults.hop.toxic import toxiproxy_api  # noqa: E402
from harness.load.entry import EntryPoint  # noqa: E402
from harness.load.payloads import DEFAULT_PAYLOADS  # noqa: E402
from harness.load.probe_process import ProbeProcess  # noqa: E402
from harness.scenario import Load  # noqa: E402
from harness.stack.images import find_toxiproxy_server  # noqa: E402
from tests.integration._procs import free_port, wait_for  # noqa: E402
from tests.integration.test_probe_resolution import OUTAGE_S, SLOS, _outage_score  # noqa: E402
from tests.integration.test_toxiproxy_faults import HOP, _answers  # noqa: E402

HOST = "127.0.0.1"
WARM_UP_S = 1.0
_BODY = b'{"prediction": 3}'
_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


class _Answer(asyncio.Protocol):
    """HTTP/1.1 keep-alive: one answer per request; held until the stall ends when it arrives during it."""

    def __init__(self, arrivals: list[float], stall: tuple[float, float]) -> None:
        self.arrivals, self.stall = arrivals, stall
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            found = _LENGTH.search(self.buffer, 0, end)
            size = end + 4 + (int(found.group(1)) if found else 0)
            if len(self.buffer) < size:
                return
            self.buffer = self.buffer[size:]
            now = time.time()
            self.arrivals.append(now)
            if self.stall[0] <= now < self.stall[1]:
                asyncio.get_running_loop().call_later(self.stall[1] - now, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_ANSWER)


def _serve(sock: socket.socket, stall: tuple[float, float], until: float, results: Connection) -> None:
    """The server process: answers until `until` (epoch), then sends its arrival times back."""
    arrivals: list[float] = []

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(lambda: _Answer(arrivals, stall), sock=sock)
        async with server:
            await asyncio.sleep(max(0.0, until - time.time()))

    asyncio.run(main())
    results.send(arrivals)


@dataclass
class Run:
    rate: float
    mode: str
    schedule: dict[str, Any]
    sent: np.ndarray
    """Probe send times (epoch), sorted."""
    latency: np.ndarray
    arrivals: np.ndarray
    stall: tuple[float, float]
    cpu_pct: float

    def achieved(self) -> float:
        return (len(self.sent) - 1) / (self.sent[-1] - self.sent[0]) if len(self.sent) > 1 else 0.0

    def max_gap(self, within: tuple[float, float] | None = None) -> float:
        sent = self.sent if within is None else self.sent[(self.sent >= within[0]) & (self.sent < within[1])]
        return float(np.diff(sent).max()) if len(sent) > 1 else float("nan")

    def drift_s(self) -> float:
        """How much further behind its schedule the stream was in its last second than in its first:
        probe i is planned at start + i / rate, so sent_i - i / rate grows when the stream falls behind."""
        behind = self.sent - np.arange(len(self.sent)) / self.rate
        first, last = self.sent < self.sent[0] + 1.0, self.sent >= self.sent[-1] - 1.0
        return float(np.median(behind[last]) - np.median(behind[first]))

    def stall_share(self) -> float:
        """Requests that reached the server during the stall, of those planned then."""
        start, end = self.stall
        if end <= start:
            return float("nan")
        arrived = np.count_nonzero((self.arrivals >= start) & (self.arrivals < end))
        return arrived / (self.rate * (end - start))

    def peak_in_flight(self) -> int:
        events = np.concatenate([np.ones(len(self.sent)), -np.ones(len(self.sent))])
        order = np.argsort(np.concatenate([self.sent, self.sent + self.latency]), kind="stable")
        return int(np.cumsum(events[order]).max()) if len(self.sent) else 0

    def sustains(self) -> bool:
        """It keeps its rate: >= 99 % of the planned probes sent, its last second < 10 ms further behind
        its schedule than its first (no drift), and >= 90 % of those planned during the stall reached the
        server during it (no coordinated omission)."""
        sent_all = self.schedule["sent"] >= 0.99 * self.rate * (self.sent[-1] - self.sent[0])
        no_omission = self.mode != "stall" or self.stall_share() >= 0.9
        return bool(sent_all and self.drift_s() < 0.010 and no_omission)

    def accurate(self) -> bool:
        """It sustains its rate, and 99 % of the probes started within half an interval of their plan
        (1 ms at least: gevent's timers wake in whole milliseconds)."""
        late = self.schedule["late_p99_s"]
        return self.sustains() and late is not None and late <= max(0.5 / self.rate, 0.001)


def measure(rate: float, mode: str, args: argparse.Namespace, workdir: Path) -> Run:
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(4096)
    start = time.time() + WARM_UP_S
    middle = start + args.seconds / 2 - args.stall / 2
    stall = (middle, middle + args.stall) if mode == "stall" else (0.0, 0.0)
    until = start + args.seconds + args.timeout + 2.0
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(sock, stall, until, send), daemon=True)
    server.start()
    url = f"http://{HOST}:{sock.getsockname()[1]}/predict"
    entry = EntryPoint(url=url, payloads=DEFAULT_PAYLOADS, prediction="prediction")
    probe = ProbeProcess(entry, rate, args.timeout, workdir)
    probe.start()
    process = psutil.Process(probe._process.pid)  # type: ignore[union-attr]
    if args.nice is not None:
        process.nice(args.nice)
    time.sleep(max(0.0, start - time.time()))
    cpu_before, wall_before = sum(process.cpu_times()[:2]), time.monotonic()
    time.sleep(args.seconds)
    cpu_pct = 100 * (sum(process.cpu_times()[:2]) - cpu_before) / (time.monotonic() - wall_before)
    probe.stop()
    records = probe.records()
    arrivals = np.array(receive.recv())
    server.join()
    sock.close()
    sent = np.array([r["sent_at"] for r in records])
    order = np.argsort(sent)
    latency = np.array([r["latency_s"] for r in records])[order]
    schedule = probe.schedule()
    assert schedule is not None, f"the probe process wrote no schedule; see {probe.log_path}"
    return Run(rate, mode, schedule, sent[order], latency, arrivals, stall, cpu_pct)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.2f}"


def print_run(run: Run) -> None:
    s = run.schedule
    stall = f"{run.stall_share():6.2f} {_ms(run.max_gap(run.stall)):>9}" if run.mode == "stall" else f"{'':6} {'':>9}"
    print(
        f"{run.rate:6g} {run.mode:6} {s['sent']:7d} {run.achieved():9.0f} {_ms(s['late_p50_s']):>8} "
        f"{_ms(s['late_p99_s']):>8} {_ms(s['late_max_s']):>8} {_ms(run.drift_s()):>8} "
        f"{_ms(run.max_gap()):>8} {stall} {run.peak_in_flight():7d} {run.cpu_pct:5.0f}% "
        f"{'yes' if run.sustains() else 'NO':>9} {'yes' if run.accurate() else 'NO':>8}"
    )


def brackets(args: argparse.Namespace) -> None:
    """RTO bracket and resolution per rate on a real partition (tests/integration/test_probe_resolution.py)."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(4096)
    _, send = multiprocessing.Pipe(duplex=False)
    never = (0.0, 0.0)  # no stall: toxiproxy makes the outage
    server = multiprocessing.get_context("fork").Process(
        target=_serve, args=(sock, never, time.time() + 3600, send), daemon=True
    )
    server.start()
    api_port = free_port()
    toxiproxy = subprocess.Popen(
        [str(find_toxiproxy_server(os.environ)), "-host", HOST, "-port", str(api_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    api_url = f"http://{HOST}:{api_port}"
    try:
        wait_for(lambda: _answers(api_url), 10, "toxiproxy-server API")
        listen = free_port()
        toxiproxy_api(api_url).create(upstream=f"{HOST}:{sock.getsockname()[1]}", name=HOP, listen=f"{HOST}:{listen}")
        print(f"{OUTAGE_S:g} s partition through toxiproxy-server, bucket {SLOS.bucket:g} s, times in ms")
        print(f"{'trial':>5} {'rate':>6} {'RTO':>8} {'bracket':>8} {'resolution':>10}")
        with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
            for trial in range(1, args.brackets + 1):
                for rate in sorted(args.rates):
                    load = Load(users=0, rate=0, probe_rate=rate)
                    score = _outage_score(load, api_url, f"http://{HOST}:{listen}", Path(tmp) / f"{trial}-{rate:g}")
                    lower, upper = score.rto_bracket_s or (math.nan, math.nan)
                    print(f"{trial:5d} {rate:6g} {_ms(score.rto_s):>8} {_ms(upper - lower):>8} "
                          f"{_ms(score.rto_resolution_s):>10}")
    except InfrastructureError as error:
        print(f"no toxiproxy-server: {error.message}")
    finally:
        toxiproxy.kill()
        toxiproxy.wait()
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 250, 500, 1000, 2000, 4000, 8000])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--stall", type=float, default=1.0)
    parser.add_argument("--brackets", type=int, default=0, help="trials per rate of a real partition instead")
    parser.add_argument("--nice", type=int, help="renice the probe process (negative: before the rest; root only)")
    parser.add_argument("--timeout", type=float, default=2.0, help="probe timeout (longer than the stall)")
    args = parser.parse_args()
    if args.brackets:
        brackets(args)
        return
    print(f"one probe process, {args.seconds:g} s per run, server on {HOST} in its own process, "
          f"{psutil.cpu_count()} CPUs; times in ms; stall: {args.stall:g} s mid-run")
    print(f"{'rate':>6} {'mode':6} {'sent':>7} {'achieved':>9} {'late p50':>8} {'p99':>8} {'max':>8} "
          f"{'drift':>8} {'max gap':>8} {'stall%':>6} {'stall gap':>9} {'inflight':>7} {'CPU':>6} {'sustains':>9} "
          f"{'accurate':>8}")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
        for rate in sorted(args.rates):
            for mode in ("steady", "stall"):
                runs.append(measure(rate, mode, args, Path(tmp) / f"{rate:g}-{mode}"))
                print_run(runs[-1])
    print(f"sustained ceiling (>= 99 % sent, drift < 10 ms, >= 90 % sent during the stall): "
          f"{ceiling(runs, Run.sustains):g} probes/s")
    print(f"accurate ceiling (sustained, and p99 lateness <= max(interval / 2, 1 ms)): "
          f"{ceiling(runs, Run.accurate):g} probes/s")


def ceiling(runs: list[Run], passes: Callable[[Run], bool]) -> float:
    """The highest rate up to which every run (steady and stall) of every rate passed; 0 if the lowest failed."""
    highest = 0.0
    for rate in sorted({run.rate for run in runs}):
        if not all(passes(run) for run in runs if run.rate == rate):
            break
        highest = rate
    return highest


if __name__ == "__main__":
    main()

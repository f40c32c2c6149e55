"""Live checks (stop conditions, steady state) during a long run: the whole probe frame vs the recent probes.

    .venv/bin/python tests/benchmarks/live_check_bench.py [--hours 1]

Prints the time one check takes after `--hours` of probes at 100/s, both ways, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from harness.load.entry import EntryPoint
from harness.load.load_mix import LoadMix
from harness.load.probe_process import ProbeProcess


def _record(t: float) -> str:
    return json.dumps({
        "sent_at": t, "latency_s": 0.003, "ok": True, "status": 200, "error": "", "served_by": "model-a",
        "model_version": "v2", "degraded": False, "request_id": f"{t:.2f}", "prediction": 1, "label": 1,
        "source": "probe",
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        payloads = work / "p.jsonl"
        payloads.write_text('{"features": [0], "label": 1}\n')
        count = int(args.hours * 3600 * 100)
        now = time.time()
        mix = LoadMix.__new__(LoadMix)
        mix.probe = ProbeProcess(EntryPoint(url="http://127.0.0.1:9/p", payloads=payloads), 100, 1.0, work)
        mix.probe.records_path.write_text("\n".join(_record(now - (count - n) * 0.01) for n in range(count)) + "\n")
        mix.probe.records()  # parse once, as a running harness has
        whole = _time(lambda: mix.probe_frame())
        recent = _time(lambda: mix.probe_frame(since=now - 6.0))
    print(f"{count:,} probe records ({args.hours:g} h at 100/s); one live check:")
    print(f"  whole frame   {whole * 1000:8.1f} ms")
    print(f"  recent probes {recent * 1000:8.1f} ms")
    print(f"  ratio         {whole / recent:8.0f}x")


def _time(check: object) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        check()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    main()

"""The open-loop probe stream in a process of its own.

`python -m harness.load.probe_worker ENTRY_JSON RATE TIMEOUT_S RECORDS_PATH SCHEDULE_PATH`
sends probes until SIGTERM and appends every record to RECORDS_PATH as JSON
lines (flushed every 0.2 s); once stopped, it writes how far behind its own
schedule it sent (`harness/load/schedule.py`) to SCHEDULE_PATH as JSON. A
process of its own keeps the harness's work (polling, live checks, pandas)
from delaying probes and their timing.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream

FLUSH_INTERVAL_S = 0.2
SWITCH_INTERVAL_S = 0.0005
"""How long the flushing thread may hold the GIL while the probe thread waits to send (Python's
default, 5 ms, made every flush delay probes by up to 5 ms: tests/benchmarks/probe_bench.py)."""


def main(argv: list[str]) -> None:
    entry_json, rate, timeout_s, records_path, schedule_path = argv
    entry = EntryPoint.from_json(entry_json)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stream = ProbeStream(entry, load_payloads(entry.payloads), rate=float(rate), timeout_s=float(timeout_s))
    with open(records_path, "a", encoding="utf-8") as out, stream:
        while not stop.wait(FLUSH_INTERVAL_S):
            _write(out, stream.drain())
        stream.stop()
        _write(out, stream.drain())
    Path(schedule_path).write_text(json.dumps(stream.schedule.summary()), encoding="utf-8")


def _write(out: object, records: list[object]) -> None:
    for record in records:
        out.write(json.dumps(vars(record)) + "\n")  # type: ignore[attr-defined]  # asdict() deep-copies: slower
    out.flush()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])

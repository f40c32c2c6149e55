"""The open-loop probe stream in a process of its own.

`python -m harness.load.probe_worker ENTRY_JSON RATE TIMEOUT_S RECORDS_PATH`
sends probes until SIGTERM and appends every record to RECORDS_PATH as JSON
lines (flushed every 0.2 s). A process of its own keeps the harness's work
(polling, live checks, pandas) from delaying probes and their timing.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading

from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream

FLUSH_INTERVAL_S = 0.2


def main(argv: list[str]) -> None:
    entry_json, rate, timeout_s, records_path = argv
    entry = EntryPoint.from_json(entry_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stream = ProbeStream(entry, load_payloads(entry.payloads), rate=float(rate), timeout_s=float(timeout_s))
    with open(records_path, "a", encoding="utf-8") as out, stream:
        while not stop.wait(FLUSH_INTERVAL_S):
            _write(out, stream.drain())
        stream.stop()
        _write(out, stream.drain())


def _write(out: object, records: list[object]) -> None:
    for record in records:
        out.write(json.dumps(dataclasses.asdict(record)) + "\n")  # type: ignore[attr-defined, call-overload]
    out.flush()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])

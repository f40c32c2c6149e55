"""The open-loop probe stream in a process of its own.

`python -m harness.load.probe_worker ENTRY_JSON RATE TIMEOUT_S RECORDS_PATH SCHEDULE_PATH`
sends probes until SIGTERM and appends every record to RECORDS_PATH as JSON
lines (flushed every 0.2 s); once stopped, it writes how far behind its own
schedule it sent (`harness/load/schedule.py`) to SCHEDULE_PATH as JSON. A
process of its own keeps the harness's work (polling, live checks, pandas)
from delaying probes and their timing.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import orjson

from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream

FLUSH_INTERVAL_S = 0.2


def main(argv: list[str]) -> None:
    entry_json, rate, timeout_s, records_path, schedule_path = argv
    entry = EntryPoint.from_json(entry_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lines: list[bytes] = []  # serialised in the stream's thread as probes complete: this one only writes
    stream = ProbeStream(
        entry, load_payloads(entry.payloads), rate=float(rate), timeout_s=float(timeout_s),
        on_record=lambda record: lines.append(orjson.dumps(vars(record), option=orjson.OPT_APPEND_NEWLINE)),
    )
    with open(records_path, "ab") as out, stream:
        while not stop.wait(FLUSH_INTERVAL_S):
            _write(out, lines)
        stream.stop()
        _write(out, lines)
    Path(schedule_path).write_bytes(orjson.dumps(stream.schedule.summary()))


def _write(out: BinaryIO, lines: list[bytes]) -> None:
    """Writes and removes the lines appended so far; the stream's thread may append more meanwhile."""
    count = len(lines)
    out.write(b"".join(lines[:count]))
    del lines[:count]
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Live checks read only the recent probes: the same records as filtering all of them, without the cost."""

from __future__ import annotations

import json
import random
from pathlib import Path

from harness.load.entry import EntryPoint
from harness.load.probe_process import ProbeProcess


def _process(tmp_path: Path, timeout_s: float = 1.0) -> ProbeProcess:
    entry = EntryPoint(url="http://127.0.0.1:9/predict", payloads=tmp_path / "p.jsonl")
    return ProbeProcess(entry, rate=100, timeout_s=timeout_s, workdir=tmp_path)


def test_records_since_matches_filtering_every_record_although_they_arrive_out_of_order(tmp_path: Path) -> None:
    process = _process(tmp_path)
    rng = random.Random(7)
    sent = [1000 + n * 0.01 for n in range(20_000)]
    # completion order: each probe answers within the timeout, so neighbours swap places
    completed = sorted(sent, key=lambda t: t + rng.uniform(0, 1.0))
    process.records_path.write_text("".join(json.dumps({"sent_at": t, "ok": True}) + "\n" for t in completed))
    for since in (1000.0, 1100.0, 1150.005, 1199.5, 1300.0):
        expected = [r for r in process.records() if r["sent_at"] >= since]
        assert process.records_since(since) == expected


def test_a_partly_written_last_line_waits_for_the_next_read(tmp_path: Path) -> None:
    process = _process(tmp_path)
    process.records_path.write_text('{"sent_at": 1.0, "ok": true}\n{"sent_at": 2.0, "o')
    assert [r["sent_at"] for r in process.records_since(0.0)] == [1.0]
    with process.records_path.open("a") as handle:
        handle.write('k": false}\n')
    assert [r["sent_at"] for r in process.records_since(0.0)] == [1.0, 2.0]

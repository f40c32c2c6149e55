"""The retrospective: every note, fault and verdict of a run; findings pre-filled with missed SLOs and surprises."""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli import main
from harness.gameday.retro import load_result
from harness.report.json_report import write_result
from harness.result import (
    FaultScore,
    FaultWindow,
    Note,
    RequestTotals,
    RunResult,
    SLOResult,
)

START = 1_700_000_000.0


def _score(index: int, target: str, rto: float, failed: int, slos: list[SLOResult]) -> FaultScore:
    injected = START + 10 + 20 * index
    return FaultScore(
        fault=FaultWindow(index=index, type="kill", target=target, injected_at=injected, reverted_at=injected + 8),
        rto_s=rto,
        rto_bracket_s=(max(rto - 0.25, 0.0), rto),
        rto_resolution_s=0.25,
        ttd_s=1.0,
        failed_requests=failed,
        requests=1000,
        availability=1 - failed / 1000,
        latency_p50_s=0.01,
        latency_p95_s=0.04,
        latency_p99_s=0.2,
        slos=slos,
    )


def _run(run_dir: Path, started: float, rto_a: float) -> RunResult:
    missed = SLOResult(name="rto", target=5.0, measured=rto_a, passed=rto_a <= 5.0, unit="s")
    met = SLOResult(name="rto", target=5.0, measured=0.0, passed=True, unit="s")
    result = RunResult(
        scenario="gameday",
        backend="local",
        verdict="fail" if rto_a > 5.0 else "pass",
        started_at=started,
        finished_at=started + 60,
        steady_state_ok=True,
        faults=[_score(0, "model-a", rto_a, 40, [missed]), _score(1, "model-b", 0.0, 0, [met])],
        requests=RequestTotals(total=2000, ok=1960, failed=40, probe=2000, locust=0),
        notes=[Note(t=started + 12, author="alice", text="page fired"), Note(t=started + 31, author="bob", text="nothing | seen")],
    )
    write_result(result, run_dir)
    return result


def test_result_json_reads_back_as_the_run_result(tmp_path: Path) -> None:
    written = _run(tmp_path, START, 7.0)
    assert load_result(tmp_path) == written


def test_the_retro_has_every_note_fault_verdict_and_finding(tmp_path: Path) -> None:
    _run(tmp_path / "20231114-221300-gameday", START - 3600, 3.0)
    run_dir = tmp_path / "20231114-231300-gameday"
    _run(run_dir, START, 7.0)
    journal = [
        {"t": START, "event": "game-day", "hypothesis": "model-b takes over within 5 s", "runbook": []},
        {"t": START + 5, "event": "runbook-step", "step": 0, "text": "check the page fired", "expect": ["an alert"]},
        {"t": START + 9, "event": "gate-closed", "step": 0, "outcome": "confirmed", "author": "carol", "waited_s": 4.0},
        {"t": START + 50, "event": "gate-closed", "step": 1, "outcome": "timed out, continuing", "author": "timeout", "waited_s": 20.0},
    ]
    (run_dir / "journal.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in journal))
    assert main(["retro", str(run_dir)]) == 0
    markdown = (run_dir / "retro.md").read_text()
    for expected in (
        "model-b takes over within 5 s",
        "| +12.0 s | alice | page fired |",
        "| +31.0 s | bob | nothing \\| seen |",
        "| 1 | kill | model-a |",
        "| 2 | kill | model-b |",
        "+5.0 s: check the page fired (expected: an alert)",
        "+9.0 s: gate confirmed by carol after 4.00 s",
        "+50.0 s: gate not confirmed within 20.00 s: went on",
        "Fault 1 (kill model-a): rto missed: target ≤ 5.00 s, measured 7.00 s",
        "Fault 2 (kill model-b): absorbed: the stack detected it after 1.00 s and no client saw it (RTO 0, no failed request)",
        "Fault 1 (kill model-a): surprise: recovered in 7.00 s, slower than the previous run (3.00 s on",
    ):
        assert expected in markdown, (expected, markdown)
    assert markdown.count("| MISSED |") == 1 and markdown.count("| met |") == 1
    page = (run_dir / "retro.html").read_text()
    assert "nothing | seen" in page and "<strong>fail</strong>" in page and "http" not in page

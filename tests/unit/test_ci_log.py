"""A run in a CI log: one line per SLO, GitHub annotations for misses, tables not cut at 80 columns."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from harness.commands import options
from harness.report.ci_log import github_annotations, slo_lines
from harness.report.console import print_summary
from harness.report import formatting as fmt
from harness.result import FaultScore, FaultWindow, Quality, RequestTotals, RolloutPhase, RunResult, SLOResult

START = 1_700_000_000.0


def _run(verdict: str = "fail", reason: str = "") -> RunResult:
    slos = [
        SLOResult(name="rto", target=2.0, measured=5.74, passed=False, unit="s"),
        SLOResult(name="availability", target=0.99, measured=0.995, passed=True, unit="fraction"),
        SLOResult(name="rpo", target=1.0, measured=None, passed=False, unit="s", not_measured="no store: 50%, a\nb"),
    ]
    window = FaultWindow(index=0, type="kill", target="model-a", injected_at=START, reverted_at=START + 5)
    score = FaultScore(
        fault=window, rto_s=5.74, rto_bracket_s=(5.5, 5.74), rto_resolution_s=0.25, ttd_s=0.4,
        failed_requests=1, requests=1000, availability=0.995, latency_p50_s=0.003, latency_p95_s=0.01,
        latency_p99_s=0.02, slos=slos,
    )  # fmt: skip
    return RunResult(
        scenario="replica-kill", backend="local", verdict=verdict, reason=reason, started_at=START,
        finished_at=START + 30, steady_state_ok=True, faults=[score],
        requests=RequestTotals(total=1000, ok=999, failed=1, probe=600, locust=400),
    )  # fmt: skip


def test_one_line_per_slo_reads_on_its_own() -> None:
    assert slo_lines(_run()) == [
        "FAIL replica-kill #1 kill model-a: rto ≤ 2.00 s, measured 5.74 s",
        "PASS replica-kill #1 kill model-a: availability ≥ 99%, measured 99.5%",
        "FAIL replica-kill #1 kill model-a: rpo ≤ 1.00 s, not measured (no store: 50%, a\nb)",
    ]


def test_a_run_without_scores_says_its_verdict_and_why() -> None:
    run = _run("error", "the stack did not come up").model_copy(update={"faults": []})
    assert slo_lines(run) == ["ERROR replica-kill: the stack did not come up"]


def test_every_miss_is_a_github_annotation_escaped_as_workflow_commands_require() -> None:
    annotations = github_annotations(_run())
    assert annotations[0] == "::error title=replica-kill%3A kill model-a rto::rto missed: target ≤ 2.00 s, measured 5.74 s"
    expected = "::error title=replica-kill%3A kill model-a rpo::rpo missed: target ≤ 1.00 s, not measured (no store: 50%25, a%0Ab)"
    assert annotations[1] == expected
    assert len(annotations) == 2, "a passed SLO is no annotation"


def test_off_a_terminal_the_summary_table_is_not_cut_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert options._console().width == options.CI_LOG_WIDTH  # pytest captures stdout: not a terminal
    out = io.StringIO()
    print_summary(_run(), Console(file=out, width=options.CI_LOG_WIDTH))
    assert "RTO [bracket]" in out.getvalue() and "Measured" in out.getvalue()
    narrow = io.StringIO()
    print_summary(_run(), Console(file=narrow, width=80))
    assert "RTO [bracket]" not in narrow.getvalue(), "the cut this fixes no longer happens at 80 columns: drop the test"


def test_a_fault_not_about_the_model_has_no_quality_notes() -> None:
    """A kill on a stack whose guardian reports events: nothing happened to the answers and no quality
    SLO is set, so 'not measured' quality figures and unreached rollback phases would only be noise."""
    phases = [RolloutPhase(kind=kind, at_s=None, not_measured=f"no '{kind}' event after the injection") for kind in ("detect", "decide", "rollback")]
    (score,) = _run().faults
    quiet = score.model_copy(update={"quality": Quality(degraded_share=0.0, phases=phases)})
    assert not [note for note in fmt.notes(quiet) if "predictions" in note or "phases" in note]
    degraded = quiet.model_copy(update={"quality": Quality(degraded_share=0.4, phases=phases)})
    assert any(note.startswith("served predictions: ") for note in fmt.notes(degraded))

"""Every report says "not measured (why)", "overlapping", later outages and run-level losses."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from harness.report import write_reports
from harness.report.console import print_summary
from harness.report.markdown import summary_markdown
from harness.result import (
    FaultScore,
    FaultWindow,
    Outage,
    Overlap,
    RequestTotals,
    RunResult,
    SLOResult,
    UnattributedLoss,
)

START = 1_700_000_000.0
NO_STORE = "the target declares no store"
NO_SIGNAL = "the target declares no down-signal for app-1"
OVERLAP = "the outage after fault 1 (kill app-1) was still going when fault 2 (kill app-2) was injected"


def _score(index: int, target: str, **fields: object) -> FaultScore:
    window = FaultWindow(
        index=index, type="kill", target=target, injected_at=START + 10 + 5 * index, reverted_at=None,
        inject_call_s=0.12,
    )  # fmt: skip
    figures: dict[str, object] = {
        "rto_s": 1.5, "rto_bracket_s": (1.4, 1.5), "rto_resolution_s": 0.25, "ttd_s": 0.8,
        "failed_requests": 10, "requests": 1000, "availability": 0.99,
        "latency_p50_s": 0.01, "latency_p95_s": 0.02, "latency_p99_s": 0.03, "slos": [],
    }  # fmt: skip
    return FaultScore(fault=window, **{**figures, **fields})  # type: ignore[arg-type]


@pytest.fixture
def result() -> RunResult:
    rpo = SLOResult(name="rpo", target=1.0, measured=None, passed=False, unit="s", not_measured=NO_STORE)
    first = _score(
        0,
        "app-1",
        ttd_s=None,
        not_measured={"ttd": NO_SIGNAL, "rpo": NO_STORE, "lost_writes": NO_STORE},
        overlapping=[Overlap(fault_index=1, fault="fault 2 (kill app-2)", reason=OVERLAP)],
        later_outages=[Outage(start_s=5.74, duration_s=0.01)],
        slos=[rpo],
    )
    lost = SLOResult(name="lost_writes", target=0, measured=3, passed=False, unit="count")
    second = _score(
        1, "app-2", lost_writes=3, rpo_s=0.4, loss_window_s=(-0.3, 0.1), lost_request_ids=["r-1", "r-2", "r-3"],
        overlapping=[Overlap(fault_index=0, fault="fault 1 (kill app-1)", reason=OVERLAP)], slos=[lost],
    )  # fmt: skip
    warm_up = UnattributedLoss(
        lost_writes=2, oldest_ack_at=START + 2, newest_ack_at=START + 2.5, request_ids=["w-1", "w-2"],
        slo=SLOResult(name="lost_writes", target=0, measured=2, passed=False, unit="count"),
    )  # fmt: skip
    return RunResult(
        scenario="shop-kill", backend="compose", verdict="fail", reason="rpo missed", started_at=START,
        finished_at=START + 60, steady_state_ok=True, faults=[first, second], unattributed_loss=warm_up,
        requests=RequestTotals(total=2000, ok=1980, failed=20, probe=1000, locust=1000),
    )  # fmt: skip


def test_result_json_says_why_and_overlapping(tmp_path: Path, result: RunResult) -> None:
    paths = write_reports(result, pd.DataFrame(), tmp_path)
    document = json.loads(paths["json"].read_text())

    first, second = document["faults"]
    assert (first["ttd_s"], first["rpo_s"], first["lost_writes"]) == (None, None, None)
    assert first["not_measured"] == {"ttd": NO_SIGNAL, "rpo": NO_STORE, "lost_writes": NO_STORE}
    assert first["slos"] == [
        {"name": "rpo", "target": 1.0, "measured": None, "unit": "s", "not_measured": NO_STORE, "pass": False}
    ]
    assert first["overlapping"] == [{"fault_index": 1, "fault": "fault 2 (kill app-2)", "reason": OVERLAP}]
    assert first["later_outages"] == [{"start_s": 5.74, "duration_s": 0.01}]
    assert first["inject_call_s"] == 0.12
    assert second["lost_request_ids"] == ["r-1", "r-2", "r-3"]
    assert document["unattributed_loss"]["slo"]["pass"] is False


def test_html_says_not_measured_overlapping_and_the_inject_call(tmp_path: Path, result: RunResult) -> None:
    html = write_reports(result, pd.DataFrame(), tmp_path)["html"].read_text()

    assert html.count("not measured") >= 3  # TTD card, RPO card, the rpo SLO
    assert NO_SIGNAL in html and NO_STORE in html
    assert f"not measured ({NO_STORE})" in html
    assert '<span class="badge overlapping">overlapping</span>' in html
    assert "inject call 120 ms" in html
    assert "Later outage at +5.74 s for 10 ms" in html
    assert "r-1, r-2, r-3" in html
    assert "2 acknowledged writes lost before the first fault&#39;s reach" in html


def test_markdown_and_console_say_not_measured_and_overlapping(result: RunResult) -> None:
    markdown = summary_markdown(result)
    assert f"| kill app-1 (overlapping) | rpo | ≤ 1.00 s | not measured ({NO_STORE}) | ❌ fail |" in markdown
    assert f"- **kill app-1**: ttd not measured ({NO_SIGNAL})" in markdown
    assert "- **kill app-1**: later outage at +5.74 s for 10 ms" in markdown
    assert "- **run**: 2 acknowledged writes lost" in markdown

    console = Console(record=True, width=400)
    print_summary(result, console)
    text = console.export_text()
    assert f"not measured ({NO_SIGNAL})" in text
    assert "(overlapping)" in text
    assert f"overlapping with fault 2 (kill app-2): {OVERLAP}" in text
    assert "3 lost, RPO 400 ms (acknowledged −300 ms … +100 ms)" in text


def test_junit_says_not_measured_and_fails_run_level_losses(tmp_path: Path, result: RunResult) -> None:
    suite = ET.parse(write_reports(result, pd.DataFrame(), tmp_path)["junit"]).getroot().find("testsuite")
    assert suite is not None

    rpo = suite.find("testcase[@name='shop-kill: kill app-1: rpo']/failure")
    assert rpo is not None and rpo.get("message") == f"rpo missed: target ≤ 1.00 s, not measured ({NO_STORE})"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["kill app-1: ttd"] == f"not measured ({NO_SIGNAL})"
    assert properties["kill app-1: overlapping with fault 2 (kill app-2)"] == OVERLAP
    run_level = suite.find("testcase[@name='shop-kill: run: lost_writes']/failure")
    assert run_level is not None and "w-1, w-2" in (run_level.text or "")


def test_the_console_warns_when_the_probes_fell_behind_their_schedule(result: RunResult) -> None:
    from harness.load.schedule import summarize
    from harness.result import ProbeFacts

    late = ProbeFacts(**summarize([0.0, 0.001, 0.030], rate=100.0))  # one probe 3 intervals late
    assert late.behind
    console = Console(record=True, width=400)
    print_summary(result.model_copy(update={"probes": late}), console)
    assert f"probes: {late.behind}" in console.export_text()
    on_time = Console(record=True, width=400)
    print_summary(result.model_copy(update={"probes": ProbeFacts(**summarize([0.0, 0.001], rate=100.0))}), on_time)
    assert "probes:" not in on_time.export_text()
    unknown = Console(record=True, width=400)
    print_summary(result.model_copy(update={"probes": None}), unknown)
    assert ("probes: schedule not measured" in unknown.export_text()) == (result.requests.probe > 0)


def test_the_console_total_counts_a_shared_reach_once(result: RunResult) -> None:
    """Faults injected within one bucket of each other report the same lost writes: 3, not 6."""
    first, second = result.faults
    twin = second.model_copy(update={"fault": first.fault, "not_measured": {}})
    shared = result.model_copy(update={"faults": [twin, second], "unattributed_loss": None})
    console = Console(record=True, width=400)
    print_summary(shared, console)
    assert "3 acknowledged writes lost" in console.export_text()

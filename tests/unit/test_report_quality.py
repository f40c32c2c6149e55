"""The quality figures in every report: scored from the hand-built labelled timeline of test_quality."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from harness.report import write_reports
from harness.report.charts import quality_marks_of, recoveries_of, timeline_png
from harness.report.console import print_summary
from harness.report.junit import write_junit
from harness.report.markdown import summary_markdown
from harness.result import FaultScore, RequestTotals, RunResult
from harness.scenario import SLOs
from harness.scoring import bucket_series, records_frame, request_totals
from tests.unit.test_quality import END, EVENTS, INJECT, SLO, T0, score, timeline

GATES = SLOs(**SLO, quality_rto=2.0, bad_predictions=20, degraded_share=0.25, rollback=2.5)


def _run(scores: list[FaultScore], totals: RequestTotals) -> RunResult:
    return RunResult(
        scenario="bad-model-push",
        backend="compose",
        verdict="fail",
        reason="degraded_share missed",
        started_at=T0,
        finished_at=INJECT + END,
        steady_state_ok=True,
        faults=scores,
        requests=totals,
    )


@pytest.fixture
def pushed() -> tuple[RunResult, pd.DataFrame]:
    records = timeline()
    result = _run([score(records, GATES, events=EVENTS)], request_totals(records_frame(records)))
    return result, bucket_series(records_frame(records), T0, INJECT + END, 0.5)


@pytest.fixture
def unnamed() -> RunResult:
    """No labels, no replica or version in the answers, no events: everything quality is not measured."""
    records = timeline(labelled=False, named=False)
    return _run([score(records, GATES)], request_totals(records_frame(records)))


def test_result_json_has_the_quality_figures_and_accuracy_per_bucket(
    tmp_path: Path, pushed: tuple[RunResult, pd.DataFrame]
) -> None:
    result, buckets = pushed
    document = json.loads(write_reports(result, buckets, tmp_path)["json"].read_text())

    quality = document["faults"][0]["quality"]
    assert [b["accuracy"] for b in quality["buckets"][:4]] == [0.9, 0.4, 0.0, 0.7]
    assert (quality["bad_predictions"], quality["bad_prediction_s"]) == (20, 1.5)
    assert quality["versions_at_injection"] == {"model-a": "v1", "model-b": "v1"}
    assert [p["kind"] for p in quality["phases"]] == ["detect", "decide", "rollback", "verified"]
    gates = {slo["name"]: (slo["unit"], slo["pass"]) for slo in document["faults"][0]["slos"]}
    assert gates == {
        "accuracy": ("fraction", False),
        "quality_rto": ("s", True),
        "bad_predictions": ("count", True),
        "degraded_share": ("share", False),
        "rollback": ("s", False),
    }


def test_html_shows_served_predictions_phases_and_quality_slo_rows(
    tmp_path: Path, pushed: tuple[RunResult, pd.DataFrame]
) -> None:
    result, buckets = pushed
    html = write_reports(result, buckets, tmp_path)["html"].read_text()

    assert "<h4>Served predictions</h4>" in html
    assert '<div class="value">1.65 s</div>' in html  # quality RTO
    assert '<div class="value">20</div>' in html and "served in 1.50 s of buckets below the accuracy target" in html
    assert '<div class="value">+2.55 s</div>' in html  # rollback verified
    assert ">detect +800 ms (v2)</li>" in html and ">verified +2.55 s (v1)</li>" in html
    for row in ("<td>quality_rto</td>", "<td>bad_predictions</td>", "<td>degraded_share</td>", "<td>rollback</td>"):
        assert row in html
    assert '<td class="num">≤ 25%</td>' in html, "a share is a ceiling"


def test_html_of_a_fault_without_quality_figures_has_no_quality_section(tmp_path: Path) -> None:
    plain = score(timeline(labelled=False, named=False), SLOs(bucket=0.5), not_measured={"degraded_share": "none"})
    nothing = RequestTotals(total=0, ok=0, failed=0, probe=0, locust=0)
    html = write_reports(_run([plain], nothing), pd.DataFrame(), tmp_path)["html"].read_text()
    assert "Served predictions" not in html


def test_unmeasured_quality_gates_say_why_in_every_report(tmp_path: Path, unnamed: RunResult) -> None:
    paths = write_reports(unnamed, pd.DataFrame(), tmp_path)
    html, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None

    no_labels = "not measured (no labelled probe was sent after the injection)"
    no_versions = "not measured (no answer named its serving replica and model version)"
    assert f"| bad-push model | quality_rto | ≤ 2.00 s | {no_labels} | ❌ fail |" in markdown
    assert f"| bad-push model | rollback | ≤ 2.50 s | {no_versions} | ❌ fail |" in markdown
    assert f'<td class="num">{no_versions}</td>' in html
    failures = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    rollback = failures["bad-model-push: bad-push model: rollback"]
    assert rollback is not None and rollback.get("message") == f"rollback missed: target ≤ 2.50 s, {no_versions}"


def test_markdown_junit_and_console_carry_the_served_predictions_line(pushed: tuple[RunResult, pd.DataFrame]) -> None:
    result, _ = pushed
    line = (
        "served predictions: quality RTO 1.65 s · bad predictions 20 over 1.50 s · degraded 26.761% · "
        "versions changed +1.05 s · rollback verified +2.55 s"
    )
    assert f"- **bad-push model**: {line}" in summary_markdown(result)
    phases = "detect +800 ms (v2) → decide +1.20 s (v1) → rollback +1.50 s (v1) → verified +2.55 s (v1)"
    assert f"rollback phases: {phases}" in summary_markdown(result)
    console = Console(record=True, width=250)
    print_summary(result, console)
    assert line in console.export_text()


def test_junit_fails_the_missed_quality_gates_with_target_and_measured(
    tmp_path: Path, pushed: tuple[RunResult, pd.DataFrame]
) -> None:
    result, _ = pushed
    suite = ET.parse(write_junit([result], tmp_path / "junit.xml")).getroot().find("testsuite")
    assert suite is not None

    failures = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    assert failures["bad-model-push: bad-push model: quality_rto"] is None
    assert failures["bad-model-push: bad-push model: bad_predictions"] is None
    degraded = failures["bad-model-push: bad-push model: degraded_share"]
    rollback = failures["bad-model-push: bad-push model: rollback"]
    assert degraded is not None and degraded.get("message") == "degraded_share missed: target ≤ 25%, measured 26.761%"
    assert rollback is not None and rollback.get("message") == "rollback missed: target ≤ 2.50 s, measured 2.55 s"
    assert "served predictions: quality RTO 1.65 s" in (rollback.text or "")


def test_timeline_has_an_accuracy_lane_when_answers_carry_labels(pushed: tuple[RunResult, pd.DataFrame]) -> None:
    result, buckets = pushed
    windows, recoveries = [s.fault for s in result.faults], recoveries_of(result.faults)
    marks = quality_marks_of(result.faults)

    assert marks.target == 0.8 and marks.recoveries == (pytest.approx(INJECT + 1.65),)
    assert [kind for kind, _ in marks.phases] == ["detect", "decide", "rollback", "verified"]
    png = timeline_png(buckets, windows, recoveries, T0, quality=marks)
    assert struct.unpack(">II", png[16:24]) == (1100, 860)
    unlabelled = buckets.assign(accuracy=float("nan"))
    assert struct.unpack(">II", timeline_png(unlabelled, windows, recoveries, T0)[16:24]) == (1100, 700)


def test_rollback_phases_are_left_out_when_no_rollout_event_was_given(tmp_path: Path) -> None:
    records = timeline(lambda replica, offset: "v1")
    result = _run([score(records, GATES)], request_totals(records_frame(records)))
    html = write_reports(result, pd.DataFrame(), tmp_path)["html"].read_text()

    assert "<h4>Served predictions</h4>" in html
    assert "Rollback phases" not in html and "rollback phases" not in summary_markdown(result)

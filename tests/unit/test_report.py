"""The reports of a run: result.json contract, JUnit, HTML, Markdown, console, chart."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from harness.report import write_reports
from harness.report.charts import recoveries_of, timeline_png
from harness.report.console import print_summary
from harness.report.html import write_html
from harness.report.json_report import write_result
from harness.report.junit import write_junit
from harness.report.markdown import summary_markdown
from harness.result import SCHEMA_VERSION, FaultScore, FaultWindow, RequestTotals, RunResult, SLOResult

START = 1_700_000_000.0
FAULT_KEYS = {
    "type", "target", "injected_at", "reverted_at", "rto_s", "rto_bracket_s",
    "ttd_s", "failed_requests", "slos",
}  # fmt: skip


def _slo(name: str, target: float, measured: float | None, passed: bool) -> SLOResult:
    unit = "s" if name == "rto" or name.startswith("latency") else "fraction"
    return SLOResult(name=name, target=target, measured=measured, passed=passed, unit=unit)


def _score(index: int, type_: str, target: str, at: float, slos: list[SLOResult], rto: float | None) -> FaultScore:
    injected = START + at
    window = FaultWindow(index=index, type=type_, target=target, injected_at=injected, reverted_at=injected + 10)
    return FaultScore(
        fault=window,
        rto_s=rto,
        rto_bracket_s=None if rto is None else (rto - 0.25, rto),
        rto_resolution_s=0.25,
        ttd_s=1.2,
        failed_requests=40,
        requests=1000,
        availability=0.96,
        latency_p50_s=0.012,
        latency_p95_s=0.045,
        latency_p99_s=0.31,
        slos=slos,
    )


def _result(verdict: str, faults: list[FaultScore], reason: str = "") -> RunResult:
    return RunResult(
        scenario="replica-kill",
        description="Kill one model replica under load; the gateway must route around it.",
        backend="local",
        verdict=verdict,
        reason=reason,
        started_at=START,
        finished_at=START + 60,
        steady_state_ok=verdict != "aborted",
        faults=faults,
        requests=RequestTotals(total=6000, ok=5960, failed=40, probe=3000, locust=3000),
    )


@pytest.fixture
def passing() -> RunResult:
    slos = [
        _slo("rto", 5.0, 2.1, True),
        _slo("availability", 0.95, 0.96, True),
        _slo("latency_p95", 0.5, 0.045, True),
    ]
    return _result("pass", [_score(0, "kill", "model-a", 15, slos, rto=2.1)])


@pytest.fixture
def failing() -> RunResult:
    first = [_slo("rto", 5.0, 7.2, False), _slo("availability", 0.95, 0.96, True)]
    second = [_slo("rto", 5.0, None, False), _slo("availability", 0.999, 0.9, False)]
    faults = [
        _score(0, "kill", "model-a", 10, first, rto=7.2),
        _score(1, "latency", "gateway->model-b", 30, second, rto=None),
    ]
    return _result("fail", faults, reason="rto missed on kill model-a: 7.20 s > 5.00 s")


@pytest.fixture
def buckets() -> pd.DataFrame:
    t = START + np.arange(0, 60, 0.25)
    in_fault = (t >= START + 15) & (t < START + 17)
    requests = np.full(len(t), 25)
    ok = np.where(in_fault, 10, 25)
    return pd.DataFrame(
        {
            "t": t,
            "requests": requests,
            "ok": ok,
            "error_rate": 1 - ok / requests,
            "throughput": requests / 0.25,
            "p50": np.where(in_fault, 0.2, 0.012),
            "p95": np.where(in_fault, 0.9, 0.045),
            "p99": np.where(in_fault, 1.0, 0.08),
        }
    )


def test_result_json_follows_the_contract(tmp_path: Path, failing: RunResult) -> None:
    document = json.loads(write_result(failing, tmp_path).read_text())

    assert document["schema_version"] == SCHEMA_VERSION
    assert document["verdict"] == "fail"
    assert set(document["requests"]) == {"total", "ok", "failed", "probe", "locust"}
    fault = document["faults"][0]
    assert FAULT_KEYS <= set(fault)
    assert "fault" not in fault
    assert (fault["type"], fault["target"], fault["injected_at"]) == ("kill", "model-a", START + 10)
    assert fault["rto_bracket_s"] == [6.95, 7.2]
    assert [set(slo) for slo in fault["slos"]] == [{"name", "target", "measured", "pass", "unit", "not_measured"}] * 2
    assert [slo["pass"] for slo in fault["slos"]] == [False, True]
    assert document["faults"][1]["rto_s"] is None


def test_junit_has_a_suite_per_run_and_a_case_per_slo(
    tmp_path: Path, passing: RunResult, failing: RunResult
) -> None:
    root = ET.parse(write_junit([passing, failing], tmp_path / "junit.xml")).getroot()

    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["replica-kill [trial 1]", "replica-kill [trial 1]"]
    assert [(suite.get("tests"), suite.get("failures")) for suite in suites] == [("4", "0"), ("5", "3")]
    assert (root.get("tests"), root.get("failures")) == ("9", "3")
    names = [case.get("name") for case in suites[1].iter("testcase")]
    assert names == [
        "steady-state",
        "replica-kill: kill model-a: rto",
        "replica-kill: kill model-a: availability",
        "replica-kill: latency gateway->model-b: rto",
        "replica-kill: latency gateway->model-b: availability",
    ]
    assert {case.get("classname") for case in suites[1].iter("testcase")} == {"replica-kill [trial 1]"}
    messages = [failure.get("message") for failure in suites[1].iter("failure")]
    assert messages[0] == "rto missed: target ≤ 5.00 s, measured 7.20 s"
    assert messages[1] == "rto missed: target ≤ 5.00 s, not recovered before the observation ended"


def test_junit_reports_aborted_and_errored_runs(tmp_path: Path) -> None:
    aborted = _result("aborted", [], reason="availability below 50% for 5s")
    errored = _result("error", [], reason="toxiproxy unreachable").model_copy(update={"steady_state_ok": False})
    suites = ET.parse(write_junit([aborted, errored], tmp_path / "junit.xml")).getroot().findall("testsuite")

    assert [suite.get("name") for suite in suites] == ["replica-kill [trial 1]", "replica-kill [trial 1]"]
    run_case = suites[0].find("testcase[@name='run']")
    assert run_case is not None
    assert run_case.find("error").get("message") == "aborted: availability below 50% for 5s"
    assert run_case.find("error").get("type") == "aborted"
    assert suites[0].find("testcase[@name='steady-state']/failure") is not None
    assert suites[1].find("testcase[@name='run']/error").get("message") == "toxiproxy unreachable"
    assert suites[1].find("testcase[@name='steady-state']/skipped") is not None
    assert (suites[1].get("errors"), suites[1].get("failures"), suites[1].get("skipped")) == ("1", "0", "1")


def test_html_is_self_contained_and_complete(tmp_path: Path, failing: RunResult, buckets: pd.DataFrame) -> None:
    html = write_html(failing, buckets, tmp_path).read_text()

    assert not re.search(r"https?://", html)
    assert '<img src="data:image/png;base64,' in html
    assert '<span class="badge large fail">fail</span>' in html
    assert "7.20 s &gt; 5.00 s" in html  # the reason, autoescaped
    for slo in (slo for score in failing.faults for slo in score.slos):
        assert f"<td>{slo.name}</td>" in html


def test_html_without_load_has_no_chart(tmp_path: Path, passing: RunResult, buckets: pd.DataFrame) -> None:
    html = write_html(passing, buckets.iloc[0:0], tmp_path).read_text()

    assert "data:image/png" not in html
    assert "no timeline" in html


def test_html_says_how_well_the_probes_kept_their_schedule(
    tmp_path: Path, passing: RunResult, buckets: pd.DataFrame
) -> None:
    from markupsafe import escape as html_escape

    from harness.load.schedule import summarize
    from harness.result import ProbeFacts

    on_time = ProbeFacts(**summarize([0.0008] * 1200, rate=100.0))
    html = write_html(passing.model_copy(update={"probes": on_time}), buckets, tmp_path).read_text()
    assert "1,200 probes at 100/s, sent late by p50 0.8 ms, p99 0.8 ms, max 0.8 ms against their schedule" in html
    assert 'class="notes"' not in html.split('class="probes"')[1]
    late = ProbeFacts(**summarize([0.0, 0.030], rate=100.0))
    html = write_html(passing.model_copy(update={"probes": late}), buckets, tmp_path).read_text()
    assert late.behind and html_escape(late.behind) in html
    without = write_html(passing, buckets, tmp_path).read_text()
    assert "probes at" not in without
    assert ("Probe schedule: not measured" in without) == (passing.requests.probe > 0)


def test_timeline_png_is_about_1100_by_700(failing: RunResult, buckets: pd.DataFrame) -> None:
    png = timeline_png(buckets, [score.fault for score in failing.faults], recoveries_of(failing.faults), START)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (1100, 700)


def test_recoveries_are_injection_plus_rto(failing: RunResult) -> None:
    (recovery,) = recoveries_of(failing.faults)  # the second fault never recovered

    assert recovery.at == START + 10 + 7.2
    assert recovery.bracket == (START + 10 + 6.95, START + 10 + 7.2)


def test_markdown_summary_has_the_verdict_and_a_row_per_slo(failing: RunResult) -> None:
    markdown = summary_markdown(failing)

    assert "replica-kill: FAIL" in markdown
    assert markdown.count("❌ fail") == 3
    assert "| latency gateway->model-b | availability | ≥ 99.9% | 90% | ❌ fail |" in markdown


def test_console_summary_shows_verdict_and_slos(passing: RunResult) -> None:
    console = Console(record=True, width=160)
    print_summary(passing, console)
    text = console.export_text()

    assert "PASS" in text
    assert "2.10 s [1.85–2.10 s]" in text
    assert all(name in text for name in ("rto", "availability", "latency_p95"))


def test_write_reports_writes_all_four(tmp_path: Path, passing: RunResult, buckets: pd.DataFrame) -> None:
    paths = write_reports(passing, buckets, tmp_path / "run")

    assert {key: path.name for key, path in paths.items()} == {
        "json": "result.json",
        "html": "report.html",
        "junit": "junit.xml",
        "markdown": "summary.md",
    }
    assert all(path.is_file() for path in paths.values())


def test_state_segments_last_until_the_next_change() -> None:
    from harness.report.charts import state_colour, state_segments

    states = pd.DataFrame(
        {
            "t": [100.0, 100.0, 104.0, 104.5, 110.0],
            "server": ["model-a", "model-b", "model-a", "model-a", "model-a"],
            "state": ["UP", "UP", "UP 1/3", "DOWN", "UP"],
        }
    )
    segments = state_segments(states, origin=100.0, end=20.0)
    assert segments["model-a"] == [(0.0, 4.0, "UP"), (4.0, 0.5, "UP 1/3"), (4.5, 5.5, "DOWN"), (10.0, 10.0, "UP")]
    assert segments["model-b"] == [(0.0, 20.0, "UP")]
    assert [state_colour(s) for s in ("UP", "UP 1/3", "DOWN")] == ["#22c55e", "#f59e0b", "#dc2626"]
    assert state_colour("DOWN (HTTP 503)") == "#dc2626", "a health endpoint's DOWN, with its cause"


def test_timeline_with_server_states_has_a_fourth_lane(failing: RunResult, buckets: pd.DataFrame) -> None:
    states = pd.DataFrame({"t": [START, START + 5], "server": ["model-a", "model-a"], "state": ["UP", "DOWN"]})
    windows, recoveries = [score.fault for score in failing.faults], recoveries_of(failing.faults)
    with_lane = timeline_png(buckets, windows, recoveries, START, states)
    assert struct.unpack(">II", with_lane[16:24]) == (1100, 840)

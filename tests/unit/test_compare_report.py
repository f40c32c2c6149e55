"""`failover compare`: the comparison of one scenario's runs on two profiles, ratios and cells without a figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.commands.compare import parse_profiles
from harness.errors import BadInput
from harness.report.compare import Cell, ProfileResult, compare, ratio, write_comparison
from harness.result import FaultScore, FaultWindow, RequestTotals, RunResult

START = 1_700_000_000.0


def _score(
    *, ttd: float | None, rto: float | None, failed: int, p99: float | None, index: int = 0, ttd_why: str = ""
) -> FaultScore:
    window = FaultWindow(index=index, type="pause", target="model-a", injected_at=START + 10, reverted_at=START + 14)
    return FaultScore(
        fault=window, rto_s=rto, rto_bracket_s=None if rto is None else (max(rto - 0.25, 0.0), rto),
        rto_resolution_s=0.25, ttd_s=ttd, failed_requests=failed, requests=1000, availability=None,
        latency_p50_s=None, latency_p95_s=None, latency_p99_s=p99, slos=[],
        not_measured={"ttd": ttd_why} if ttd_why else {},
    )  # fmt: skip


def _run(verdict: str, faults: list[FaultScore], started: float = START) -> RunResult:
    return RunResult(
        scenario="replica-pause", backend="local", verdict=verdict, reason="" if verdict == "pass" else "an SLO missed",
        trial=1, started_at=started, finished_at=started + 30, steady_state_ok=True, faults=faults,
        requests=RequestTotals(total=1000, ok=1000 - sum(f.failed_requests for f in faults), failed=sum(f.failed_requests for f in faults), probe=1000, locust=0),
    )  # fmt: skip


def _cell(value: float | None, never: bool = False) -> Cell:
    return Cell(value=value, never=never, text="")


@pytest.mark.parametrize(
    ("other", "base", "text", "value"),
    [
        (_cell(2.0), _cell(0.25), "8×", 8.0),
        (_cell(0.1), _cell(0.4), "0.25×", 0.25),
        (_cell(433), _cell(0), "∞", None),  # failed requests: some against none
        (_cell(0), _cell(0), "same (both 0)", None),
        (_cell(None, never=True), _cell(0.3), "∞", None),  # not detected against detected
        (_cell(None, never=True), _cell(0.0), "∞", None),  # not recovered against RTO 0
        (_cell(0.3), _cell(None, never=True), "0×", 0.0),
        (_cell(None, never=True), _cell(None, never=True), "n/a (neither came)", None),
        (_cell(None), _cell(0.3), "n/a", None),  # not measured
        (_cell(0.3), _cell(None), "n/a", None),
    ],
)
def test_ratio_is_never_a_fake_number(other: Cell, base: Cell, text: str, value: float | None) -> None:
    got = ratio(other, base)
    assert (got.text, got.value) == (text, value)


def _pair(tmp_path: Path) -> list[ProfileResult]:
    tuned = _run("pass", [_score(ttd=0.31, rto=0.0, failed=0, p99=0.505)])
    default = _run("fail", [_score(ttd=None, rto=9.67, failed=433, p99=None)], started=START + 60)
    return [ProfileResult("tuned", tuned, tmp_path / "runs" / "a"), ProfileResult("default", default, tmp_path / "runs" / "b")]


def test_a_fault_side_by_side_with_its_ratios(tmp_path: Path) -> None:
    comparison = compare(_pair(tmp_path), tmp_path / "out")
    assert comparison.profiles == ["tuned", "default"]
    (fault,) = comparison.faults
    assert fault.fault == "pause model-a"
    rows = {row.metric: ([cell.text for cell in row.cells], [r.text for r in row.ratios]) for row in fault.rows}
    assert rows == {
        "ttd": (["310 ms", "not detected"], ["∞"]),
        "rto": (["0 ms", "9.67 s"], ["∞"]),
        "failed_requests": (["0 of 1,000", "433 of 1,000"], ["∞"]),
        "latency_p99_s": (["505 ms", "no successful request"], ["n/a"]),
    }
    assert [run.report for run in comparison.runs] == ["../runs/a/report.html", "../runs/b/report.html"]
    assert (comparison.started_at, comparison.finished_at) == (START, START + 90)


def test_not_measured_and_faults_a_run_did_not_reach_have_no_ratio(tmp_path: Path) -> None:
    tuned = _run("pass", [_score(ttd=0.3, rto=1.0, failed=2, p99=0.01), _score(ttd=0.2, rto=1.0, failed=1, p99=0.01, index=1)])
    default = _run("error", [_score(ttd=None, rto=4.0, failed=8, p99=0.02, ttd_why="no down-signal was watched")])
    results = [ProfileResult("tuned", tuned, tmp_path / "a"), ProfileResult("default", default, tmp_path / "b")]
    first, second = compare(results, tmp_path).faults
    ttd = first.rows[0]
    assert ttd.cells[1].text == "not measured (no down-signal was watched)" and ttd.ratios[0].text == "n/a"
    assert [r.ratios[0].text for r in first.rows[1:]] == ["4×", "4×", "2×"]
    assert {cell.text for row in second.rows for cell in row.cells[1:]} == {"no result (the run did not reach this fault)"}
    assert {r.ratios[0].text for r in second.rows} == {"n/a"}


def test_the_report_is_written_as_html_and_json(tmp_path: Path) -> None:
    written = write_comparison(_pair(tmp_path), tmp_path / "out")
    document = json.loads(written["json"].read_text())
    assert document["schema_version"] == 1 and document["profiles"] == ["tuned", "default"]
    row = document["faults"][0]["rows"][0]
    assert row["ratios"] == [{"value": None, "text": "∞"}] and row["cells"][1]["never"] is True
    page = written["html"].read_text()
    assert "replica-pause: tuned vs default" in page and "default / tuned" in page
    assert "not detected" in page and "∞" in page and 'href="../runs/b/report.html"' in page
    assert "http" not in page.replace("http-equiv", "")  # self-contained: no external URL


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, ["tuned", "default"]), (["default,tuned"], ["default", "tuned"]), (["tuned", "default"], ["tuned", "default"])],
)
def test_profiles_option(given: list[str] | None, expected: list[str]) -> None:
    assert parse_profiles(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [(["tuned"], "two or more different profiles"), (["tuned,tuned"], "two or more"), (["tuned,stock"], "unknown stack profile 'stock'")],
)
def test_bad_profiles_option(given: list[str], message: str) -> None:
    with pytest.raises(BadInput) as raised:
        parse_profiles(given)
    assert message in raised.value.message


def test_compare_refuses_bad_input_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_state: object
) -> None:
    scenario = tmp_path / "pause.yaml"
    scenario.write_text("name: pause\nstack: {profile: stock}\ntimeline:\n  - {at: 2s, action: pause, target: model-a, duration: 4s}\n")
    assert main(["compare", str(scenario), "--reports-dir", str(tmp_path / "reports")]) == 2
    assert "unknown stack profile 'stock'" in capsys.readouterr().err
    assert main(["compare", str(scenario), "--profiles", "tuned", "--reports-dir", str(tmp_path / "reports")]) == 2
    assert main(["compare", str(tmp_path / "missing.yaml"), "--reports-dir", str(tmp_path / "reports")]) == 2
    assert not (tmp_path / "reports").exists()

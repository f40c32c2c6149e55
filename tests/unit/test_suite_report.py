"""The suite index: trial aggregation, verdict ordering, index.html and index.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.report.suite import SuiteRun, aggregate_trials, worst_verdict, write_suite_index
from harness.result import FaultScore, FaultWindow, RequestTotals, RunResult, SLOResult

START = 1_700_000_000.0


def _score(
    rto: float | None,
    *,
    index: int = 0,
    ttd: float | None = 1.0,
    failed: int = 10,
    availability: float | None = 0.99,
    p95: float | None = 0.05,
) -> FaultScore:
    window = FaultWindow(index=index, type="kill", target=f"model-{'ab'[index % 2]}", injected_at=START + 10, reverted_at=START + 20)
    passed = rto is not None and rto <= 5.0
    return FaultScore(
        fault=window,
        rto_s=rto,
        rto_bracket_s=None if rto is None else (rto - 0.25, rto),
        rto_resolution_s=0.25,
        ttd_s=ttd,
        failed_requests=failed,
        requests=1000,
        availability=availability,
        latency_p50_s=0.01,
        latency_p95_s=p95,
        latency_p99_s=0.2,
        slos=[SLOResult(name="rto", target=5.0, measured=rto, passed=passed, unit="s")],
    )


def _run(scenario: str, verdict: str, faults: list[FaultScore], trial: int = 1, backend: str = "local") -> RunResult:
    return RunResult(
        scenario=scenario,
        backend=backend,
        verdict=verdict,
        reason="" if verdict == "pass" else f"{scenario} trial {trial} <{verdict}>",
        trial=trial,
        started_at=START + 100 * trial,
        finished_at=START + 100 * trial + 60,
        steady_state_ok=verdict != "aborted",
        faults=faults,
        requests=RequestTotals(total=1000, ok=990, failed=10, probe=500, locust=500),
    )


@pytest.fixture
def trials() -> list[RunResult]:
    """Three trials of 'replica-kill': RTOs 2, 4 and never on fault 0; fault 1 recovers every time."""
    return [
        _run("replica-kill", "pass", [_score(2.0, ttd=1.0, failed=5), _score(1.0, index=1)], trial=1),
        _run("replica-kill", "pass", [_score(4.0, ttd=3.0, failed=7, availability=0.97, p95=0.4), _score(1.5, index=1)], trial=2),
        _run("replica-kill", "fail", [_score(None, ttd=2.0, failed=30, availability=0.5, p95=None), _score(3.0, index=1)], trial=3),
    ]


@pytest.fixture
def suite(tmp_path: Path, trials: list[RunResult]) -> tuple[list[SuiteRun], Path]:
    """The three trials plus a single errored run, each in its own folder with a report.html."""
    results = [*trials, _run("net-partition", "error", [], backend="compose")]
    runs = []
    for result in results:
        run_dir = tmp_path / "reports" / f"20240101-000000-{result.scenario}-trial{result.trial}"
        run_dir.mkdir(parents=True)
        (run_dir / "report.html").write_text("<html></html>")
        runs.append(SuiteRun(result=result, run_dir=run_dir))
    return runs, tmp_path / "reports" / "20240101-000000-suite"


def test_aggregates_three_trials_with_one_never_recovered(trials: list[RunResult]) -> None:
    (aggregate,) = aggregate_trials(trials)
    first, second = aggregate.faults

    assert (aggregate.scenario, aggregate.verdict, aggregate.trials, aggregate.passed) == ("replica-kill", "fail", 3, 2)
    assert (first.index, first.type, first.target) == (0, "kill", "model-a")
    assert (first.trials, first.passed, first.pass_rate) == (3, 2, pytest.approx(2 / 3))
    assert (first.rto_min_s, first.rto_median_s, first.rto_max_s) == (2.0, 3.0, None)
    assert first.not_recovered == 1
    assert (first.ttd_median_s, first.ttd_max_s) == (2.0, 3.0)
    assert first.failed_requests == 42
    assert first.worst_availability == 0.5
    assert first.worst_latency_p95_s == 0.4
    assert (second.rto_min_s, second.rto_median_s, second.rto_max_s, second.not_recovered) == (1.0, 1.5, 3.0, 0)
    assert second.pass_rate == 1.0


def test_aggregation_keeps_scenario_order_and_tolerates_missing_faults() -> None:
    runs = [
        _run("zeta", "pass", [_score(1.0)]),
        _run("alpha", "aborted", [], trial=1),
        _run("zeta", "pass", [_score(3.0)], trial=2),
        _run("alpha", "pass", [_score(None, ttd=None, availability=None, p95=None)], trial=2),
    ]
    zeta, alpha = aggregate_trials(runs)

    assert [zeta.scenario, alpha.scenario] == ["zeta", "alpha"]
    assert (zeta.trials, zeta.passed, zeta.faults[0].rto_median_s) == (2, 2, 2.0)
    assert alpha.verdict == "aborted"
    (fault,) = alpha.faults  # only the second trial reached the fault
    assert (fault.trials, fault.rto_min_s, fault.rto_median_s, fault.rto_max_s) == (1, None, None, None)
    assert (fault.ttd_median_s, fault.worst_availability, fault.worst_latency_p95_s) == (None, None, None)


@pytest.mark.parametrize(
    ("verdicts", "worst"),
    [
        (["pass", "pass"], "pass"),
        (["pass", "fail"], "fail"),
        (["fail", "aborted", "pass"], "aborted"),
        (["aborted", "error", "fail"], "error"),
        (["error", "pass"], "error"),
    ],
)
def test_worst_verdict_orders_error_aborted_fail_pass(verdicts: list[str], worst: str) -> None:
    assert worst_verdict(verdicts) == worst  # type: ignore[arg-type]


def test_links_are_relative_and_point_to_the_reports(suite: tuple[list[SuiteRun], Path]) -> None:
    runs, out_dir = suite
    paths = write_suite_index(runs, out_dir)
    document = json.loads(paths["json"].read_text())
    html = paths["html"].read_text()

    links = [row["report"] for row in document["runs"]]
    assert links[0] == "../20240101-000000-replica-kill-trial1/report.html"
    assert all(not Path(link).is_absolute() and (out_dir / link).resolve().is_file() for link in links)
    assert re.findall(r'<a href="([^"#]+)">report</a>', html) == links


def test_links_survive_moving_the_folder(tmp_path: Path, suite: tuple[list[SuiteRun], Path]) -> None:
    runs, out_dir = suite
    write_suite_index(runs, out_dir)
    moved = (tmp_path / "reports").rename(tmp_path / "archive")

    links = json.loads((moved / out_dir.name / "index.json").read_text())["runs"]
    assert all((moved / out_dir.name / row["report"]).is_file() for row in links)


def test_index_html_is_self_contained_and_complete(suite: tuple[list[SuiteRun], Path]) -> None:
    runs, out_dir = suite
    html = write_suite_index(runs, out_dir)["html"].read_text()

    assert not re.search(r"https?://", html)
    assert not re.search(r"<script|<link ", html)
    assert '<span class="badge large error">error</span>' in html
    for scenario, verdict in [("replica-kill", "fail"), ("net-partition", "error")]:
        assert scenario in html
        assert f'<span class="badge {verdict}">{verdict}</span>' in html
    assert "replica-kill trial 3 &lt;fail&gt;" in html  # reasons are autoescaped
    assert "never" in html and "not recovered" in html
    assert "1.75–2.00 s" in html  # an RTO bracket
    assert "local, compose" in html


def test_index_json_round_trips_and_matches_the_aggregate(
    suite: tuple[list[SuiteRun], Path], trials: list[RunResult]
) -> None:
    runs, out_dir = suite
    path = write_suite_index(runs, out_dir)["json"]
    document = json.loads(path.read_text())

    assert json.loads(json.dumps(document)) == document
    assert document["schema_version"] == 2
    assert document["verdict"] == "error"
    assert document["counts"] == {"runs": 4, "pass": 2, "fail": 1, "aborted": 0, "error": 1}
    assert document["backends"] == ["local", "compose"]
    expected = [a.model_dump(mode="json") for a in aggregate_trials([run.result for run in runs])]
    assert document["scenarios"] == expected
    replica_kill = document["scenarios"][0]
    assert {key: replica_kill[key] for key in ("scenario", "verdict", "trials", "passed")} == {
        "scenario": "replica-kill", "verdict": "fail", "trials": 3, "passed": 2,
    }  # fmt: skip
    assert replica_kill["faults"][0]["rto_max_s"] is None
    first_run = document["runs"][0]
    assert set(first_run) == {"scenario", "trial", "backend", "verdict", "reason", "report", "faults"}
    assert first_run["faults"][0] == {
        "type": "kill", "target": "model-a", "rto_s": 2.0, "rto_bracket_s": [1.75, 2.0], "ttd_s": 1.0, "failed_requests": 5,
    }  # fmt: skip
    assert document["runs"][3]["faults"] == []


def test_an_empty_suite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_suite_index([], tmp_path)

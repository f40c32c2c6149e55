"""Baselines, regressions, the run history and the gate through `failover run` (trials are synthetic:
`run_scenario` is replaced, so nothing starts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import harness.runner
from harness.baseline import Baseline, BaselineScenario, compare, load_baseline
from harness.cli import main
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SLO_MISSED, BadInput
from harness.report.suite import SuiteIndex, SuiteRun
from harness.scenario import SLOs
from harness.trials import fault_figures, judge_scenario
from tests.unit.test_trials import fault, trial, trials_with_rtos

SCENARIO = """\
name: replica-kill
timeline:
  - {at: 2s, action: kill, target: model-a, duration: 5s}
trials: 3
slos:
  rto: {p95: 2s}
"""


def baseline_of(rtos: list[float | None], name: str = "replica-kill") -> Baseline:
    results = trials_with_rtos(rtos)
    faults = [fault_figures([r.faults[0].model_dump() for r in results])]
    return Baseline(saved_at=0.0, source="test", scenarios={name: BaselineScenario(trials=len(rtos), faults=faults)})


def test_a_regression_beyond_tolerance_fails_with_one_sentence() -> None:
    gate = judge_scenario("replica-kill", trials_with_rtos([1.6] * 20), SLOs(rto={"p95": "2s"}))

    compared = compare(gate, baseline_of([0.9] * 20), SLOs(rto={"p95": "2s"}), {})

    assert compared.verdict == "fail"
    assert compared.reason == "replica-kill p95 RTO 0.9 s -> 1.6 s, +78%, tolerance 25%"
    assert compared.gates[0].regressed and compared.gates[0].baseline == 0.9
    assert compared.reason in compared.notes


def test_an_improvement_passes_and_is_said() -> None:
    gate = judge_scenario("replica-kill", trials_with_rtos([0.9] * 20), SLOs(rto={"p95": "2s"}))

    compared = compare(gate, baseline_of([1.6] * 20), SLOs(rto={"p95": "2s"}), {})

    assert compared.verdict == "pass"
    assert "replica-kill p95 RTO 1.6 s -> 0.9 s, -44%, improved (tolerance 25%)" in compared.notes


def test_tolerance_comes_from_the_cli_then_the_scenario_then_the_default() -> None:
    slos = SLOs(rto={"p95": "2s"}, regression={"rto": "100%"})
    gate = judge_scenario("replica-kill", trials_with_rtos([1.6] * 20), slos)

    assert compare(gate, baseline_of([0.9] * 20), slos, {}).verdict == "pass"  # +78% < 100%
    assert compare(gate, baseline_of([0.9] * 20), slos, {"rto": 0.5}).reason.endswith("tolerance 50%")


def test_a_change_within_one_bucket_is_not_a_regression() -> None:
    slos = SLOs(rto={"p95": "2s"})
    gate = judge_scenario("replica-kill", trials_with_rtos([0.5] * 5), slos)

    assert compare(gate, baseline_of([0.3] * 5), slos, {}).verdict == "pass"  # +67%, but 0.2 s < 250 ms


def test_a_scenario_missing_from_the_baseline_is_said_not_failed() -> None:
    gate = judge_scenario("replica-kill", trials_with_rtos([1.0]), SLOs(rto={"p95": "2s"}))

    compared = compare(gate, baseline_of([0.1], name="other"), None, {})

    assert compared.verdict == "pass"
    assert compared.notes == ["no baseline for replica-kill: not compared"]


def test_a_missing_baseline_file_is_an_error_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "replica-kill.yaml"
    scenario.write_text(SCENARIO)

    code = main(["run", str(scenario), "--baseline", str(tmp_path / "nope.json"), "--reports-dir", str(tmp_path)])

    assert code == EXIT_BAD_INPUT
    assert f"baseline {tmp_path / 'nope.json'} does not exist" in capsys.readouterr().err
    with pytest.raises(BadInput, match="no baseline in"):
        load_baseline("latest", tmp_path)


@pytest.fixture
def fake_trials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[float | None]]:
    """`failover run` whose trials have the RTOs in the yielded list (set before running), one per trial."""
    rtos: list[float | None] = []

    def run_scenario(scenario: Any, target: Any, options: Any, console: Any, trials: int | None = None) -> list[SuiteRun]:
        assert trials is None or trials == len(rtos)
        runs = []
        for result in trials_with_rtos(list(rtos)):
            run_dir = options.reports_dir / f"20240101-000000-{scenario.name}-trial{result.trial}"
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "report.html").write_text("<html></html>")
            runs.append(SuiteRun(result=result, run_dir=run_dir))
        return runs

    monkeypatch.setattr(harness.runner, "run_scenario", run_scenario)
    yield rtos


def test_the_cli_gates_on_the_p95_saves_a_baseline_and_fails_a_regression(
    tmp_path: Path, fake_trials: list[float | None], capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, reports = tmp_path / "replica-kill.yaml", tmp_path / "reports"
    scenario.write_text(SCENARIO)
    fake_trials[:] = [0.9] * 19 + [None]

    assert main(["run", str(scenario), "--trials", "20", "--reports-dir", str(reports)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "replica-kill: PASS over 20 trials, flaky" in out
    assert "1 of 20 trials missed 2 s (trials 20): the gate is on the p95" in out
    (suite,) = reports.glob("*-suite")
    index = json.loads((suite / "index.json").read_text())
    assert index["schema_version"] == 2 and index["verdict"] == "pass"
    SuiteIndex.model_validate(index)  # index.json is the model's document
    assert index["scenarios"][0]["flaky"] and index["scenarios"][0]["gates"][0]["statistic"] == "p95"

    assert main(["baseline", "save", "--reports-dir", str(reports)]) == EXIT_OK
    fake_trials[:] = [1.6] * 20
    code = main(["run", str(scenario), "--trials", "20", "--reports-dir", str(reports), "--baseline", "latest"])

    assert code == EXIT_SLO_MISSED
    assert "replica-kill p95 RTO 0.9 s -> 1.6 s, +78%, tolerance 25%" in capsys.readouterr().out
    history = [json.loads(line) for line in (reports / "history.jsonl").read_text().splitlines()]
    assert [(line["scenario"], line["verdict"], line["trials"]) for line in history] == [
        ("replica-kill", "pass", 20),
        ("replica-kill", "fail", 20),
    ]
    assert history[0]["faults"][0]["rto_p95_s"] == 0.9 and history[0]["faults"][0]["rto_max_s"] is None
    assert history[0]["faults"][0]["rto_never"] == 1
    html = max(reports.glob("*-suite")).joinpath("index.html").read_text()
    assert "Release gate" in html and "data:image/png;base64," in html  # the trend of the two runs


def test_a_baseline_saved_from_a_run_folder_reads_its_result_json(tmp_path: Path) -> None:
    run_dir = tmp_path / "20240101-000000-replica-kill"
    run_dir.mkdir()
    result = trial(1, [fault(1.25)])
    document = result.model_dump(mode="json")
    document["faults"] = [{**f.fault.model_dump(mode="json"), **f.model_dump(mode="json", exclude={"fault"})} for f in result.faults]
    (run_dir / "result.json").write_text(json.dumps(document))

    assert main(["baseline", "save", str(run_dir), "--out", str(tmp_path / "b.json")]) == EXIT_OK

    _, saved = load_baseline(str(tmp_path / "b.json"), tmp_path)
    figures = saved.scenarios["replica-kill"].faults[0]
    assert (figures.label, figures.figures["rto"].stats["p95"]) == ("kill model-a", 1.25)


@pytest.mark.parametrize("value", ["rto", "rtoo=10%", "rto=ten"])
def test_a_bad_tolerance_is_bad_input(tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "replica-kill.yaml"
    scenario.write_text(SCENARIO)

    assert main(["run", str(scenario), "--tolerance", value, "--reports-dir", str(tmp_path)]) == EXIT_BAD_INPUT
    assert f"--tolerance '{value}'" in capsys.readouterr().err


def test_saving_a_baseline_with_nothing_run_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--reports-dir", str(tmp_path)]) == EXIT_BAD_INPUT
    assert f"no run or suite in {tmp_path}" in capsys.readouterr().err

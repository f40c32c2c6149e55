"""Machine outputs: the result.json schema, the environment in every result, JUnit as standard readers
see it, the job summary and `failover report`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from harness import scoring
from harness.cli import main
from harness.report.regenerate import chart_buckets
from harness.environment import (
    ConfigFile,
    Environment,
    GitRevision,
    Machine,
    config_hash,
    git_revision,
    run_environment,
)
from harness.errors import BadInput
from harness.report import write_reports
from harness.report.json_report import read_result, result_document, result_from_document
from harness.report.junit import write_junit
from harness.report.markdown import write_job_summary
from harness.report.schemas import SCHEMAS, schema_text, stale, write_schemas
from harness.report.suite import SuiteRun
from harness.result import (
    SCHEMA_VERSION,
    AccuracyBucket,
    FaultScore,
    FaultWindow,
    Outage,
    Overlap,
    Quality,
    RequestTotals,
    RolloutPhase,
    RunResult,
    SLOResult,
    TargetFacts,
    UnattributedLoss,
    Verdict,
)
from harness.scenario_loader import load_scenario
from harness.targets.reference import ReferenceTarget
from tests.schema_check import schema_errors

START = 1_700_000_000.0
Unit = Literal["s", "fraction", "share", "count"]
NO_STORE = "target 'shop' declares no store to read back"


def _environment(seed: int | None = 7) -> Environment:
    return Environment(
        harness_version="0.1.0",
        stack_git=GitRevision(commit="a" * 40, dirty=True, root="/src/stack"),
        stack_config_sha256="b" * 64,
        stack_config_files={"compose": ConfigFile(path="/src/stack/docker-compose.yml", sha256="c" * 64)},
        seed=seed,
        machine=Machine(hostname="ci-1", os="Linux-6.8", cpu_count=2, python="3.11.9", docker="27.3.1"),
    )


def _slo(name: str, target: float, measured: float | None, passed: bool, why: str | None = None) -> SLOResult:
    unit: Unit = "fraction" if name == "availability" else "s"
    return SLOResult(name=name, target=target, measured=measured, passed=passed, unit=unit, not_measured=why)


def _score(slos: list[SLOResult], index: int = 0, target: str = "model-a") -> FaultScore:
    window = FaultWindow(
        index=index, type="kill", target=target, parameters={"signal": "SIGKILL", "after": 1.5},
        injected_at=START + 10, reverted_at=START + 20, inject_call_s=0.12,
    )  # fmt: skip
    return FaultScore(
        fault=window,
        rto_s=2.1,
        rto_bracket_s=(1.9, 2.1),
        rto_resolution_s=0.25,
        ttd_s=None,
        quality_rto_s=1.5,
        quality=Quality(
            buckets=[AccuracyBucket(start_s=0.0, answered=10, correct=9, accuracy=0.9)],
            bad_predictions=3,
            bad_prediction_s=0.5,
            versions_at_injection={"model-a": "v1"},
            phases=[RolloutPhase(kind="detect", at_s=0.8, version="v2", evidence={"event": "alert"})],
        ),
        later_outages=[Outage(start_s=5.7, duration_s=None)],
        rpo_s=None,
        lost_writes=None,
        overlapping=[Overlap(fault_index=1, fault="kill model-b", reason="still down")],
        not_measured={"ttd": "no down-signal", "rpo": NO_STORE},
        failed_requests=40,
        requests=1000,
        availability=0.96,
        latency_p50_s=0.012,
        latency_p95_s=0.045,
        latency_p99_s=None,
        slos=slos,
    )


def _result(verdict: Verdict = "fail", faults: list[FaultScore] | None = None, **changes: object) -> RunResult:
    slos = [
        _slo("rto", 5.0, 2.1, True),
        _slo("availability", 0.99, 0.96, False),
        _slo("rpo", 1.0, None, False, NO_STORE),
    ]
    loss = UnattributedLoss(
        lost_writes=2, oldest_ack_at=START + 1, newest_ack_at=START + 2, request_ids=["w-1", "w-2"],
        slo=SLOResult(name="lost_writes", target=0, measured=2, passed=False, unit="count"),
    )  # fmt: skip
    result = RunResult(
        scenario="replica-kill",
        backend="compose",
        target=TargetFacts(
            name="reference", kind="reference", file="t.yaml", compose_file="c.yml", compose_sha256="d" * 64
        ),
        verdict=verdict,
        reason="availability missed on kill model-a",
        started_at=START,
        finished_at=START + 60,
        load_ended_at=START + 55,
        steady_state_ok=True,
        faults=[_score(slos)] if faults is None else faults,
        unattributed_loss=loss,
        requests=RequestTotals(total=6000, ok=5960, failed=40, probe=3000, locust=3000),
        environment=_environment(),
    )
    return result.model_copy(update=changes)


def _errored() -> RunResult:
    """As the runner's `_error_result` builds it."""
    return _result(
        "error", [], reason="toxiproxy unreachable", steady_state_ok=False, unattributed_loss=None, load_ended_at=None,
        requests=RequestTotals(total=0, ok=0, failed=0, probe=0, locust=0),
    )  # fmt: skip


# result.json and its schema


def test_the_committed_schemas_are_what_the_models_generate() -> None:
    assert stale() == [], "run: PYTHONPATH=$PWD .venv/bin/python -m harness.report.schemas"


def test_a_changed_model_makes_the_committed_schema_stale(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    (path,) = tmp_path.glob("result.schema.json")
    path.write_text(path.read_text().replace('"lost_writes"', '"lost_write"', 1))
    assert stale(tmp_path) == ["result.schema.json"]
    assert json.loads(schema_text(SCHEMAS[0]))["properties"]["schema_version"] == {
        "const": SCHEMA_VERSION, "description": "",
    }  # fmt: skip


@pytest.mark.parametrize(
    "result", [_result(), _errored(), _result("pass", environment=None)], ids=["full", "error", "bare"]
)
def test_results_validate_and_read_back_unchanged(result: RunResult) -> None:
    document = json.loads(json.dumps(result_document(result)))
    assert schema_errors(document) == []
    assert result_from_document(document) == result


def test_the_schema_describes_the_file_as_written_not_the_model() -> None:
    document = result_document(_result())
    fault = document["faults"][0]
    assert schema_errors(document) == []

    as_model = {**document, "faults": [{**fault, "fault": {"index": 0}}]}
    assert any("'fault' was unexpected" in e for e in schema_errors(as_model))
    slo = fault["slos"][0]
    renamed = {**slo, "passed": slo["pass"]}
    del renamed["pass"]
    errors = schema_errors({**document, "faults": [{**fault, "slos": [renamed]}]})
    assert any("'pass' is a required property" in e for e in errors)
    assert any("schema_version" in e for e in schema_errors({**document, "schema_version": 2}))
    assert [e.split(':')[0] for e in schema_errors(_without_machine(document))] == ["environment"]


def _without_machine(document: dict[str, object]) -> dict[str, object]:
    environment = dict(document["environment"])  # type: ignore[call-overload]
    del environment["machine"]
    return {**document, "environment": environment}


def test_an_older_or_broken_result_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({**result_document(_result()), "schema_version": 1}))
    with pytest.raises(BadInput, match=r"schema_version 1, this harness reads versions 2, 3, 4 and 5") as raised:
        read_result(path)
    assert "re-run the scenario" in raised.value.tip
    path.write_text('{"schema_version": 3,\n  "scenario": }')
    with pytest.raises(BadInput, match=r"result.json:2: not JSON"):
        read_result(path)
    path.write_text(json.dumps({**result_document(_result()), "verdict": "maybe"}))
    with pytest.raises(BadInput, match=r"result.json: verdict: Input should be"):
        read_result(path)


def test_a_version_2_result_reads_as_the_current_version_without_environment(tmp_path: Path) -> None:
    document = result_document(_result())
    del document["environment"], document["load_ended_at"], document["probes"]
    path = tmp_path / "result.json"
    path.write_text(json.dumps({**document, "schema_version": 2}))
    result = read_result(path)
    assert (result.schema_version, result.environment, result.load_ended_at) == (SCHEMA_VERSION, None, None)


def test_a_version_3_result_reads_as_the_current_version_without_probe_facts(tmp_path: Path) -> None:
    document = result_document(_result())
    del document["probes"]
    path = tmp_path / "result.json"
    path.write_text(json.dumps({**document, "schema_version": 3}))
    result = read_result(path)
    assert (result.schema_version, result.probes) == (SCHEMA_VERSION, None)


# the environment


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_the_stack_git_revision_and_dirty_flag(tmp_path: Path) -> None:
    assert git_revision(tmp_path) is None, "not a checkout"
    _git(tmp_path, "init", "-q")
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "stack")
    (tmp_path / "notes.txt").write_text("untracked files do not make it dirty")

    clean = git_revision(tmp_path)
    assert clean is not None and (clean.commit, clean.dirty) == (_git(tmp_path, "rev-parse", "HEAD"), False)
    (tmp_path / "docker-compose.yml").write_text("services: {a: {}}\n")
    dirty = git_revision(tmp_path)
    assert dirty is not None and dirty.dirty


def test_the_stack_config_hash_follows_content_not_location(tmp_path: Path) -> None:
    target = ReferenceTarget()
    files = run_environment(target, "local", _scenario(tmp_path, "")).stack_config_files
    assert {"target", "compose", "payloads"} <= set(files)
    assert all(file.sha256 is not None for file in files.values())
    moved = {role: file.model_copy(update={"path": f"/elsewhere/{role}"}) for role, file in files.items()}
    assert config_hash(moved) == config_hash(files)
    changed = {**files, "compose": files["compose"].model_copy(update={"sha256": "0" * 64})}
    assert config_hash(changed) != config_hash(files)


def _scenario(tmp_path: Path, extra: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "s.yaml"
    body = extra or "timeline: [{at: 1s, action: kill, target: model-a}]\n"
    path.write_text(f"name: s\n{body}")
    return load_scenario(path, services={"model-a", "model-b"})


def test_the_environment_names_the_harness_the_seed_and_the_machine(tmp_path: Path) -> None:
    target = ReferenceTarget()
    monkey = _scenario(tmp_path, "monkey: {seed: 7, for: 1m, faults: {kill: [model-a, model-b]}}\n")
    environment = run_environment(target, "local", monkey)
    assert environment.seed == 7
    assert run_environment(target, "local", _scenario(tmp_path, "")).seed is None
    assert environment.machine.cpu_count and environment.machine.python and environment.machine.docker is None
    repo = git_revision(target.spec.compose_file.parent)
    assert environment.stack_git == repo, "the reference stack's compose file lives in this checkout"


# JUnit


def test_junit_reads_with_a_standard_reader(tmp_path: Path) -> None:
    aborted = _result("aborted", reason="stop condition hit", unattributed_loss=None, scenario="partition")
    errored = _errored().model_copy(update={"scenario": "pause"})
    xml = JUnitXml.fromfile(str(write_junit([_result(), errored, aborted], tmp_path / "junit.xml")))
    scored = next(iter(xml))

    assert [suite.name for suite in xml] == ["replica-kill", "pause", "partition"]
    cases = {case.name: case for case in scored}
    rto, availability, rpo = (cases[f"replica-kill: kill model-a: {n}"] for n in ("rto", "availability", "rpo"))
    assert rto.is_passed and rto.system_out == "rto: target ≤ 5.00 s, measured 2.10 s"
    (missed,) = availability.result
    assert isinstance(missed, Failure) and missed.type == "slo-missed"
    assert missed.message == "availability missed: target ≥ 99%, measured 96%"
    (unmeasured,) = rpo.result
    assert isinstance(unmeasured, Failure) and unmeasured.type == "slo-not-measured"
    assert unmeasured.message == f"rpo missed: target ≤ 1.00 s, not measured ({NO_STORE})"
    assert (scored.tests, scored.failures, scored.errors, scored.skipped) == (5, 3, 0, 0)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (5 + 2 + 5, 3 + 2, 2, 1)


def test_junit_errors_and_aborts_are_errors(tmp_path: Path) -> None:
    aborted = _result("aborted", reason="stop condition hit", unattributed_loss=None, scenario="partition")
    xml = JUnitXml.fromfile(str(write_junit([_errored(), aborted], tmp_path / "junit.xml")))
    errored, stopped = list(xml)
    assert (errored.name, stopped.name) == ("replica-kill", "partition")
    run = {case.name: case for case in errored}["run"]
    assert isinstance(run.result[0], Error) and run.result[0].message == "toxiproxy unreachable"
    assert isinstance({case.name: case for case in errored}["steady-state"].result[0], Skipped)
    (abort,) = {case.name: case for case in stopped}["run"].result
    assert isinstance(abort, Error) and (abort.type, abort.message) == ("aborted", "aborted: stop condition hit")


def test_junit_cases_and_suites_carry_the_figures_and_the_environment(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(write_junit([_result()], tmp_path / "junit.xml")).getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("hostname") == "ci-1"
    properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert properties["stack_git_commit"] == "a" * 40 and properties["stack_git_dirty"] == "true"
    assert (properties["seed"], properties["harness_version"], properties["docker"]) == ("7", "0.1.0", "27.3.1")
    case = suite.find("testcase[@name='replica-kill: kill model-a: rpo']")
    assert case is not None
    figures = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
    assert figures == {
        "fault_index": "0", "fault": "kill model-a", "slo": "rpo", "target": "1.0", "measured": "",
        "unit": "s", "pass": "false", "not_measured": NO_STORE,
    }  # fmt: skip


def test_junit_names_trials_of_one_scenario_apart(tmp_path: Path) -> None:
    trials = [_result("pass", trial=n) for n in (1, 2)]
    xml = JUnitXml.fromfile(str(write_junit([*trials, _result(scenario="other")], tmp_path / "junit.xml")))
    assert [suite.name for suite in xml] == ["replica-kill [trial 1]", "replica-kill [trial 2]", "other"]
    assert {case.classname for case in list(xml)[1]} == {"replica-kill [trial 2]"}


# the job summary


def test_the_job_summary_is_appended_with_every_run(tmp_path: Path) -> None:
    path = tmp_path / "step-summary.md"
    path.write_text("## an earlier step\n")
    runs = [SuiteRun(_result("pass"), tmp_path / "r1"), SuiteRun(_errored(), tmp_path / "r2")]
    write_job_summary(runs, path)
    text = path.read_text()

    assert text.startswith("## an earlier step\n## ⛔ failover-harness: ERROR\n")
    assert "2 runs: 1 pass, 1 error" in text
    assert f"| replica-kill | 1 | ✅ pass | availability missed on kill model-a | `{tmp_path / 'r1'}` |" in text
    assert "<details><summary>replica-kill (trial 1): pass</summary>" in text
    assert "### ⛔ replica-kill: ERROR\n\ntoxiproxy unreachable" in text
    assert "harness 0.1.0 · stack git aaaaaaaaaaaa (dirty) · stack config bbbbbbbbbbbb · seed 7 · on ci-1" in text
    write_job_summary(runs, path)
    assert path.read_text().count("failover-harness: ERROR") == 2


def test_the_html_report_names_the_environment(tmp_path: Path) -> None:
    html = write_reports(_result(), pd.DataFrame(), tmp_path)["html"].read_text()
    assert "Measured with harness 0.1.0 · stack git aaaaaaaaaaaa (dirty) · stack config bbbbbbbbbbbb · seed 7" in html
    assert "on ci-1 (Linux-6.8, 2 CPUs, Python 3.11.9, Docker 27.3.1)" in html


# failover report


def _records(n: int, rate: float) -> pd.DataFrame:
    sent = START + 3.2 + np.arange(n) / rate
    rows = {
        "sent_at": sent, "latency_s": np.full(n, 0.01), "ok": (np.arange(n) % 50) != 0,
        "status": np.full(n, 200), "error": [""] * n, "served_by": ["model-a"] * n, "model_version": ["v1"] * n,
        "degraded": np.zeros(n, bool), "request_id": [f"r-{i}" for i in range(n)],
        "prediction": pd.array([1] * n, dtype="Int64"), "label": pd.array([1] * n, dtype="Int64"),
        "source": ["probe"] * n,
    }  # fmt: skip
    return pd.DataFrame(rows)


def _run_folder(folder: Path, result: RunResult) -> Path:
    records = _records(2000, 50.0)
    folder.mkdir(parents=True)
    records.to_parquet(folder / "requests.parquet")
    states = pd.DataFrame({"t": [START + 10.5], "server": ["model-a"], "state": ["DOWN"]})
    states.to_csv(folder / "server_states.csv", index=False)
    write_reports(result, chart_buckets(result, records), folder, states)
    return folder


def test_report_regenerates_every_report_from_the_stored_records(tmp_path: Path) -> None:
    result = _result(load_ended_at=START + 3.2 + 40.0)
    run = _run_folder(tmp_path / "20260101-000000-replica-kill", result)
    written = {name: (run / name).read_bytes() for name in ("result.json", "junit.xml", "summary.md", "report.html")}
    for name in written:
        (run / name).unlink() if name != "result.json" else None

    assert main(["report", str(run)]) == 0
    assert {name: (run / name).read_bytes() for name in written} == written


def test_report_cuts_the_chart_buckets_as_the_runner_does() -> None:
    records = _records(2000, 50.0)
    result = _result(started_at=START, load_ended_at=START + 43.5)
    buckets = chart_buckets(result, records)
    assert buckets.equals(scoring.bucket_series(records, START + 3.0, START + 43.5, 1.0))
    assert chart_buckets(result, records.iloc[:0]).empty


def test_report_regenerates_a_suite_and_upgrades_a_version_2_result(tmp_path: Path) -> None:
    from harness.report.suite import write_suite_index

    runs = [SuiteRun(_result(), _run_folder(tmp_path / f"run-{n}", _result(trial=n))) for n in (1, 2)]
    write_suite_index(runs, tmp_path / "suite")
    old = json.loads((runs[0].run_dir / "result.json").read_text())
    del old["environment"], old["load_ended_at"]
    (runs[0].run_dir / "result.json").write_text(json.dumps({**old, "schema_version": 2}))
    (runs[1].run_dir / "report.html").unlink()

    assert main(["report", str(tmp_path / "suite")]) == 0
    assert json.loads((runs[0].run_dir / "result.json").read_text())["schema_version"] == SCHEMA_VERSION
    assert (runs[1].run_dir / "report.html").exists()
    assert (tmp_path / "suite" / "index.html").exists()


def test_report_refuses_what_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run folder (no result.json) nor a suite folder (no index.json)" in capsys.readouterr().err
    run = _run_folder(tmp_path / "run", _result())
    document = json.loads((run / "result.json").read_text())
    (run / "result.json").write_text(json.dumps({**document, "schema_version": 1}))
    assert main(["report", str(run)]) == 2
    assert "schema_version 1, this harness reads versions 2, 3, 4 and 5" in capsys.readouterr().err
    shutil.copy(run / "server_states.csv", run / "requests.parquet")
    (run / "result.json").write_text(json.dumps(document))
    assert main(["report", str(run)]) == 2
    assert "requests.parquet: cannot be read" in capsys.readouterr().err

"""The release gate end to end: `failover run --trials 2` on the local stack, judged over its trials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_SLO_MISSED
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration
PROJECT = "failover-test-gate"
SCENARIO = """\
name: gate-kill
load: {users: 0, probe_rate: 50}
steady_state: {warmup: 1s, check: 1s}
timeline:
  - {at: 1s, action: kill, target: model-a, duration: 3s}
observe_after: 2s
slos:
  availability: 50%
  bucket: 500ms
  rto: {p95: 30s}
  ttd: {p50: 1ms}
"""


def test_slos_over_trials_gate_the_suite_not_the_runs(
    isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario, reports = tmp_path / "gate-kill.yaml", tmp_path / "reports"
    scenario.write_text(SCENARIO)

    code = main(["run", str(scenario), "--trials", "2", "--project", PROJECT, "--reports-dir", str(reports)])

    out = capsys.readouterr().out
    results = [json.loads(path.read_text()) for path in sorted(reports.glob("*-trial*/result.json"))]
    assert [r["verdict"] for r in results] == ["pass", "pass"], out[-2000:]  # not judged per run...
    for fault in (r["faults"][0] for r in results):  # ...but measured
        assert fault["ttd_s"] > 0.001 and fault["rto_s"] is not None
        assert {"rto", "ttd"}.isdisjoint(slo["name"] for slo in fault["slos"])
    assert code == EXIT_SLO_MISSED
    assert "gate-kill: FAIL over 2 trials (ttd p50 over 2 trials missed on kill model-a" in out
    (suite,) = reports.glob("*-suite")
    (entry,) = json.loads((suite / "index.json").read_text())["scenarios"]
    rows = {(g["metric"], g["statistic"]): g["passed"] for g in entry["gates"]}
    assert rows[("rto", "p95")] and not rows[("ttd", "p50")]
    assert rows[("availability", "every trial")]  # a single value still judges each trial
    (line,) = (reports / "history.jsonl").read_text().splitlines()
    assert json.loads(line)["verdict"] == "fail"

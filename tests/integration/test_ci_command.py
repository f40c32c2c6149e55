"""`failover ci` on the real local stack, as a CI job runs it: no live panel, one line per SLO, a
GitHub annotation for each miss, JUnit and the job summary written, exit 1 on a missed SLO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.conftest import REPO, local_binaries_available, require

pytestmark = pytest.mark.integration

SCENARIO = """name: ci-gate
load: {users: 0, probe_rate: 50}
steady_state: {warmup: 1s, check: 1s}
slos: {availability: 50%, ttd: 1ms, bucket: 500ms}
observe_after: 2s
timeline:
  - {at: 1s, action: kill, target: model-b, duration: 2s}
"""


def test_ci_prints_a_line_per_slo_annotates_misses_and_writes_junit_and_the_summary(
    tmp_path: Path, isolated_state: Path
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = tmp_path / "ci-gate.yaml"
    scenario.write_text(SCENARIO)
    summary = tmp_path / "step-summary.md"
    env = {
        **os.environ, "PYTHONPATH": str(REPO), "FAILOVER_STATE_DIR": str(isolated_state),
        "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
    }  # fmt: skip
    argv = [sys.executable, "-m", "harness.cli", "ci", str(scenario), "--backend", "local", "--reports-dir", str(tmp_path / "reports")]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    log = done.stdout
    assert done.returncode == 1, f"exit {done.returncode}\n{log}\n{done.stderr}"
    assert "PASS ci-gate #1 kill model-b: availability ≥ 50%, measured" in log, log
    assert "FAIL ci-gate #1 kill model-b: ttd ≤ 1 ms, measured" in log, log
    assert "::error title=ci-gate%3A kill model-b ttd::ttd missed: target ≤ 1 ms" in log, log
    assert "RTO [bracket]" in log, "the summary table is cut in a CI log"
    assert "\x1b[" not in log, "terminal escapes in a CI log"
    suites = JUnitXml.fromfile(str(tmp_path / "reports" / "junit.xml"))
    cases = [case for suite in suites for case in suite]
    assert any("ttd" in case.name and not case.is_passed for case in cases), [case.name for case in cases]
    assert "failover-harness: FAIL" in summary.read_text()

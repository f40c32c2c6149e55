"""`failover stack demo`: the main job until the scenario runner exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration


def test_demo_serves_predictions_through_both_replicas_and_writes_records(
    isolated_state: Path, tmp_path: Path
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    reports = tmp_path / "reports"
    argv = ["stack", "demo", "--project", "failover-test-demo", "--requests", "40", "--reports-dir", str(reports)]
    assert main(argv) == 0
    (run,) = reports.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["requests"] == 40 and summary["failed"] == 0
    assert set(summary["served_by"]) == {"model-a", "model-b"}
    assert summary["model_versions"] == {"v2": 40}
    assert len((run / "requests.csv").read_text().splitlines()) == 41

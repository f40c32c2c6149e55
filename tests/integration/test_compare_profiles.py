"""`failover compare` on the real local stack: the stock profile really is slower to detect a hung replica.

The figures (tuned vs default on replica-pause and replica-kill) are printed by
`failover compare`; this only checks that the two profiles differ the way their
settings say: tuned HAProxy checks a server every 100 ms with a 100 ms check
timeout, stock every 2 s with a 2 s timeout and 3 failures to go DOWN, so a
replica hung for 4 s is marked DOWN by tuned and later (or never, within the
pause) by default. A detection that never came counts as later than any.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.cli import main
from harness.stack import StackSettings
from harness.stack.local import LocalStack
from tests.conftest import local_binaries_available, require

pytestmark = pytest.mark.integration
PROJECT = "failover-test-compare"
PAUSE = (
    "name: short-pause\n"
    "load: {users: 0, probe_rate: 50}\n"
    "steady_state: {warmup: 1s, check: 1s}\n"
    "timeline:\n  - {at: 1s, action: pause, target: model-a, duration: 4s}\n"
    "slos: {availability: 50%, bucket: 500ms}\n"
    "observe_after: 2s\n"
)


def _ttd(cell: dict[str, object]) -> float:
    """A TTD cell as a number: infinite when HAProxy never marked the server DOWN."""
    assert isinstance(cell["text"], str) and not cell["text"].startswith("not measured"), cell
    return math.inf if cell["never"] else float(cell["value"])  # type: ignore[arg-type]


def test_compare_runs_both_profiles_and_stock_checks_detect_a_hang_later(
    isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = tmp_path / "short-pause.yaml"
    scenario.write_text(PAUSE)
    reports = tmp_path / "reports"
    argv = ["compare", str(scenario), "--backend", "local", "--project", PROJECT, "--reports-dir", str(reports)]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    (folder,) = reports.glob("*-compare-short-pause")
    comparison = json.loads((folder / "compare.json").read_text())
    assert [run["profile"] for run in comparison["runs"]] == ["tuned", "default"]
    assert {run["verdict"] for run in comparison["runs"]} <= {"pass", "fail"}, comparison["runs"]
    assert len(list(reports.glob("*-short-pause/result.json"))) == 2, "each profile's run in its own folder"
    (fault,) = comparison["faults"]
    ttd = next(row for row in fault["rows"] if row["metric"] == "ttd")
    tuned, default = (_ttd(cell) for cell in ttd["cells"])
    assert tuned < math.inf, "tuned checks marked the hung replica DOWN during the pause"
    assert default > tuned, ttd
    assert (folder / "compare.html").exists()


def _gateway_check_inter(stack: LocalStack) -> str:
    """The health-check interval the running gateway process was started with."""
    plans = json.loads((stack.run_dir / "plan.json").read_text())
    (gateway,) = (plan for plan in plans if plan["name"] == "gateway")
    return gateway["env"]["GW_CHECK_INTER"]


def test_a_local_stack_kept_up_in_one_profile_is_restarted_in_the_profile_asked_for(isolated_state: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    tuned = LocalStack(StackSettings(project=PROJECT, profile="tuned"))
    tuned.up(progress=False)
    try:
        assert _gateway_check_inter(tuned) == "100ms"
        stock = LocalStack(StackSettings(project=PROJECT, profile="default"))
        stock.up(progress=False)  # as `failover run --keep-up --profile default` after a tuned run
        assert _gateway_check_inter(stock) == "2s", "the kept-up tuned stack was not reused as is"
        assert all(service.state == "running" for service in stock.status())
    finally:
        LocalStack(StackSettings(project=PROJECT)).down()

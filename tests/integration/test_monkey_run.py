"""`failover monkey` end to end on the real local stack: the faults it injects are the schedule its
seed gives (as `--dry-run` prints it), the schedule is in the journal, and everything is reverted before the stack goes down."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.faults import normalize_hop
from harness.monkey import Monkey, schedule
from tests.conftest import local_binaries_available, require
from tests.integration._runs import PROJECT, journal_entries, read_result

pytestmark = pytest.mark.integration

MONKEY = {"seed": 5, "for": "6s", "mean_interval": "2s", "fault_duration": "1s"}
ALLOWED = {"kill": ["model-b"], "latency": ["gateway->model-a"]}


def test_a_monkey_run_injects_its_seeded_schedule_and_journals_it(tmp_path: Path, isolated_state: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    argv = [
        "monkey", "--seed", "5", "--for", "6s", "--mean-interval", "2s", "--fault-duration", "1s",
        "--faults", "kill,latency", "--on", "model-b,gateway->model-a", "--availability", "50%",
        "--backend", "local", "--project", PROJECT, "--reports-dir", str(tmp_path),
    ]  # fmt: skip
    code = main(argv)

    expected = schedule(Monkey.model_validate({**MONKEY, "faults": ALLOWED}))
    assert expected, "the seed picked no fault: the test would prove nothing"
    (start,) = [entry for entry in journal_entries(tmp_path) if entry["event"] == "run-start"]
    assert [(pick["action"], pick["target"], pick["at"]) for pick in start["schedule"]] == [
        (pick["action"], pick["target"], pick["at"]) for pick in expected
    ]
    result = read_result(tmp_path)
    injected = [(f["type"], normalize_hop(f["target"])) for f in result["faults"]]
    assert injected == [(p["action"], normalize_hop(p["target"])) for p in expected]
    assert code in (0, 1), result["reason"]
    assert result["verdict"] in ("pass", "fail"), result["reason"]
    (end,) = [entry for entry in journal_entries(tmp_path) if entry["event"] == "run-end"]
    assert end["reverted_everything"] and end["stack_down"], end

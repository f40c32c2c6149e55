"""`failover heal` on journals: a live run is left alone (unless forced), a recycled pid is not
mistaken for it, and a run that cannot be healed (stack gone, journal deleted) can be forgotten."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.heal import heal
from harness.journal import Journal, registry_dir
from tests.conftest import REPO
from tests.integration._procs import free_port

_LATENCY = {"at": 0.0, "action": "latency", "target": "gateway->model-a", "latency": 1.0}


def _open_run(journal: Journal, toxiproxy_port: int) -> None:
    """A run on a stack that is not up (nothing listens on its ports), with one fault in effect."""
    journal.write(
        "run-start",
        scenario="gone",
        backend="local",
        project="unit-heal-gone",
        compose_file=str(REPO / "compose" / "docker-compose.yml"),
        fixtures_dir=str(REPO / "fixtures"),
        gateway_port=free_port(),
        stats_port=free_port(),
        toxiproxy_port=toxiproxy_port,
    )
    journal.write("fault-intent", fault=0, spec=_LATENCY, describe="latency 1000ms on gateway-model-a")


def _run_that_died(tmp_path: Path) -> Path:
    """A journal left by a harness process that has exited since, without reverting its fault."""
    journal = tmp_path / "dead" / "journal.jsonl"
    code = (
        "import sys; from pathlib import Path; from harness.journal import Journal; "
        "from tests.unit.test_heal import _open_run; "
        f"_open_run(Journal(Path({str(journal)!r})), {free_port()})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=_env())
    return journal


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_a_live_run_is_left_alone_unless_forced(isolated_state: Path, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "live" / "journal.jsonl")  # this process: alive
    _open_run(journal, free_port())

    done, failed = heal()

    assert done == [] and len(failed) == 1 and "still going" in failed[0] and "--force" in failed[0]
    assert "fault-reverted" not in journal.path.read_text() and "by" not in journal.path.read_text()
    done, failed = heal(force=True)
    assert "not reachable" in " ".join(failed), "forced: the revert was attempted (its Toxiproxy is down)"
    assert len(list(registry_dir().iterdir())) == 1, "a forced heal does not unregister a run still going"


def test_a_recycled_pid_is_not_mistaken_for_the_run(isolated_state: Path, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "recycled" / "journal.jsonl")
    _open_run(journal, free_port())
    registration = registry_dir() / journal.run_id
    fields = json.loads(registration.read_text())
    registration.write_text(json.dumps({**fields, "pid_started": fields["pid_started"] - 3600}))

    _, failed = heal()

    assert not any("still going" in line for line in failed), failed


def test_a_run_whose_stack_is_gone_can_be_forgotten(isolated_state: Path, tmp_path: Path) -> None:
    journal = _run_that_died(tmp_path)

    done, failed = heal()
    assert done == [] and "its stack is down" in failed[-1] and "--forget" in failed[-1]
    assert heal()[1], "without --forget it stays"

    done, failed = heal(forget=True)
    assert failed == [] and len(done) == 1 and done[0].startswith("forgot run")
    assert heal() == ([], [])
    assert json.loads(journal.read_text().splitlines()[-1])["event"] == "run-forgotten"


def test_a_run_whose_journal_was_deleted_can_be_forgotten(isolated_state: Path, tmp_path: Path) -> None:
    _run_that_died(tmp_path).unlink()

    done, failed = heal()
    assert done == [] and "is gone" in failed[0] and "--forget" in failed[0]

    done, failed = heal(forget=True)
    assert failed == [] and "journal is gone" in done[0]
    assert heal() == ([], [])


@pytest.mark.parametrize("content", ["{not json", '{"journal": 3}'])
def test_a_damaged_registration_is_read_as_a_bare_path(isolated_state: Path, content: str) -> None:
    registry_dir().mkdir(parents=True)
    (registry_dir() / "damaged").write_text(content)
    done, failed = heal(forget=True)
    assert failed == [] and len(done) == 1
    assert heal() == ([], [])

"""`load.workers`: its bounds, the Locust limits that grow with it, and the Locust command lines it makes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_BAD_INPUT
from harness.load.entry import EntryPoint
from harness.load.load_mix import LoadMix
from harness.load.locust_worker import worker_command
from harness.scenario import Load
from harness.scenario_loader import ScenarioError, load_scenario

FIXTURES = Path(__file__).parent / "scenarios"


def _scenario(tmp_path: Path, load: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text((FIXTURES / "good-kill.yaml").read_text() + f"load:\n{load}")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [f"{problem.line}: {problem.field}: {problem.message}" for problem in caught.value.problems]


def test_by_default_locust_is_one_process() -> None:
    load = Load()
    assert (load.workers, load.remote_workers, load.master_bind, load.master_port) == (0, 0, "127.0.0.1", None)


def test_workers_raise_the_limits_of_one_locust_process() -> None:
    load = Load(workers=2, users=2000, rate=10000)
    assert (load.users, load.rate) == (2000, 10000)
    assert Load(workers=1, remote_workers=3, users=4000, rate=20000).users == 4000


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        (
            "  users: 1500\n",
            (
                "load.users: 1500 is more than 1000: Locust runs as one process here, and beyond 1000 per"
                " process it measures itself, not the stack; add workers (load.workers: 2)"
            ),
        ),
        (
            "  workers: 2\n  rate: 12000\n",
            (
                "load.rate: 12000 is more than 10000: 2 Locust workers run it, and beyond"
                " 5000 per process it measures itself, not the stack; add workers (load.workers: 3)"
            ),
        ),
        ("  workers: 65\n", "load.workers: 65 is more than 64: each worker is a process on this machine"),
        ("  workers: -1\n", "load.workers: Input should be greater than or equal to 0"),
        ("  master_port: 70000\n", "load.master_port: Input should be less than or equal to 65535"),
    ],
    ids=["users-one-process", "rate-two-workers", "too-many-workers", "negative-workers", "bad-port"],
)
def test_bad_worker_settings_name_line_field_and_fix(tmp_path: Path, load: str, expected: str) -> None:
    (problem,) = _problems(_scenario(tmp_path, load))
    assert expected in problem, problem


def test_a_scenarios_workers_reach_locust(tmp_path: Path) -> None:
    load = Load(workers=2, remote_workers=1, master_bind="0.0.0.0", master_port=5557, users=40, rate=400)
    run = LoadMix(load, _entry_with_payloads(tmp_path), tmp_path).locust
    command = run._command()

    assert command[command.index("--master-bind-host") + 1] == "0.0.0.0"
    assert command[command.index("--master-bind-port") + 1] == "5557"
    assert command[command.index("--expect-workers") + 1] == "3"
    assert "FAILOVER_RECORDS" not in run._env(), "the master records nothing: its workers do"
    assert run._env()["FAILOVER_WORKER_RECORDS"] == str(tmp_path.resolve()), "...or send it what they record"
    assert run._worker_host() == "127.0.0.1", "local workers reach a wildcard master on loopback"


def test_one_process_has_no_master(tmp_path: Path) -> None:
    run = LoadMix(Load(), _entry_with_payloads(tmp_path), tmp_path).locust
    assert "--master" not in run._command()


def test_a_worker_command_line_is_locusts_own() -> None:
    command = worker_command("10.0.0.5", 5557)
    assert command[1:3] == ["-m", "locust"]
    assert command[-5:] == ["--worker", "--master-host", "10.0.0.5", "--master-port", "5557"]


def test_load_worker_refuses_an_address_where_no_master_listens(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: nothing answers there
        port = sock.getsockname()[1]
        assert main(["load-worker", "--master-host", "127.0.0.1", "--master-port", str(port)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"no Locust master answers at 127.0.0.1:{port}" in err
    assert "start the run first" in err


def _entry_with_payloads(tmp_path: Path) -> EntryPoint:
    payloads = tmp_path / "payloads.jsonl"
    payloads.write_text('{"features": [0.0, 1.0], "label": 1}\n')
    return EntryPoint(url="http://127.0.0.1:1/predict", payloads=payloads)

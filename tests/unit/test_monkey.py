"""The seeded monkey: the same seed gives the same schedule; picks respect the allowed set, never hit a
busy target, and are checked against the target like a written timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.monkey import Monkey, schedule
from harness.scenario_loader import ScenarioError, load_scenario

ALLOWED = {"kill": ["model-a", "model-b"], "pause": ["model-a"], "latency": ["gateway->model-a"]}


def _monkey(seed: int, **changes: object) -> Monkey:
    return Monkey.model_validate({"seed": seed, "for": "10m", "mean_interval": "5s", "faults": ALLOWED, **changes})


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert schedule(_monkey(7)) == schedule(_monkey(7))
    assert schedule(_monkey(7)) != schedule(_monkey(8))


def test_picks_come_from_the_allowed_set_within_the_time_and_never_overlap_on_a_target() -> None:
    picks = schedule(_monkey(11, fault_duration="20s"))
    assert len(picks) > 20
    assert all(pick["target"] in ALLOWED[pick["action"]] and 0 < pick["at"] < 600 for pick in picks)
    ends: dict[str, float] = {}
    for pick in picks:
        assert ends.get(pick["target"], -1) <= pick["at"], f"{pick['target']} hit while busy"
        ends[pick["target"]] = pick["at"] + pick["duration"]
    assert {pick["action"] for pick in picks} == set(ALLOWED)
    assert all(pick["latency"] == "800ms" for pick in picks if pick["action"] == "latency")


def _scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "monkey.yaml"
    path.write_text(f"name: monkey\n{body}")
    return path


def test_a_scenario_monkey_becomes_its_timeline_checked_against_the_target(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "monkey: {seed: 3, for: 1m, faults: {kill: [model-a, model-b]}}\n")
    scenario = load_scenario(path, services={"model-a", "model-b"})
    assert [fault.model_dump(mode="json") for fault in scenario.timeline] == [
        {**pick, "at": float(pick["at"]), "duration": float(pick["duration"])}
        for pick in schedule(scenario.monkey)  # type: ignore[arg-type]
    ]
    with pytest.raises(ScenarioError, match="'model-b' is not a service the target lets faults touch"):
        load_scenario(path, services={"model-a"})


def test_a_scenario_takes_a_timeline_or_a_monkey_not_both(tmp_path: Path) -> None:
    both = "monkey: {seed: 1, for: 1m, faults: {kill: [model-a]}}\ntimeline: [{at: 1s, action: kill, target: model-a}]\n"
    with pytest.raises(ScenarioError, match="a scenario has a timeline or a monkey, not both"):
        load_scenario(_scenario(tmp_path, both))


def test_on_gives_each_type_the_targets_it_can_hit(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["monkey", "--seed", "5", "--for", "30s", "--faults", "kill,latency", "--on", "model-b,gateway->model-a"]
    assert main([*argv, "--dry-run"]) == 0
    picks = [line.split()[1:3] for line in capsys.readouterr().out.splitlines()]
    assert {tuple(pick) for pick in picks} == {("kill", "model-b"), ("latency", "gateway->model-a")}


def test_on_naming_nothing_a_type_can_hit_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monkey", "--seed", "5", "--for", "30s", "--faults", "kill", "--on", "gateway->model-a", "--dry-run"]) == 2
    assert "--on names nothing kill can hit" in capsys.readouterr().err

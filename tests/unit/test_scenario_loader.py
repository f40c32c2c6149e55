"""Scenario files: each problem is reported as FILE:LINE: FIELD.PATH: what, with a tip that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_BAD_INPUT, BadInput
from harness.faults import acting_on, fault_types
from harness.scenario_loader import (
    ScenarioError,
    discover,
    load_scenario,
    normalize_hop,
    summarize,
)
from harness.stack import StackSettings
from harness.stack.spec import REPO_ROOT

FIXTURES = Path(__file__).parent / "scenarios"
SERVICES = {"gateway", "model-a", "model-b", "model-fallback", "redis-1"}
HOPS = {"gateway-model-a", "gateway-model-b", "model-a-redis-1"}
ACTIONS = ", ".join(kind.name for kind in fault_types())


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}"


SERVICE_FAULTS = _listed(acting_on("service"))
HOP_FAULTS = _listed(acting_on("hop"))
DURATION_TIP = "durations look like 250ms, 30s or 2m"

# (fixture, the message's lines after "FILE:", substrings of the tip)
BAD = [
    (
        "bad-yaml.yaml",
        [
            "5: invalid YAML: expected <block end>, but found '<block mapping start>'"
            " (while parsing a block collection, started at line 3)"
        ],
        ["indentation"],
    ),
    ("bad-empty.yaml", ["1: the file is empty"], ["name: replica-kill", "timeline:"]),
    ("bad-not-mapping.yaml", ["2: the top level is a list, not a mapping"], ["a scenario is a mapping"]),
    ("bad-unknown-field.yaml", ["4: slo: unknown field"], ["did you mean 'slos'?", "fields here: name, description"]),
    ("bad-unknown-nested-field.yaml", ["6: timeline[0].durration: unknown field"], ["did you mean 'duration'?"]),
    ("bad-missing-field.yaml", ["3: timeline[0].target: missing (required)"], ["add 'target:'"]),
    ("bad-missing-timeline.yaml", ["3: timeline: missing (a scenario needs faults: a timeline, or a monkey that picks them)"], ["add `timeline: [{at: 2s"]),
    ("bad-duration.yaml", ["6: timeline[0].duration: '30 sec' is not a duration"], ["250ms, 30s or 2m"]),
    ("bad-percentage.yaml", ["6: slos.availability: '150%' is not between 0% and 100%"], ["99.9%"]),
    (
        "bad-numbers.yaml",
        ["5: slos.rto: Input should be a finite number, got 'inf'", "6: slos.accuracy: 'high%' is not a percentage"],
        [f"slos.rto: {DURATION_TIP}", "slos.accuracy: percentages look like 99.9%"],
    ),
    ("bad-action.yaml", ["4: timeline[0].action: unknown action 'kil'"], ["did you mean 'kill'?", ACTIONS]),
    (
        "bad-missing-parameter.yaml",
        ["3: timeline[0].latency: missing (required)"],
        ["add `latency: 800ms`"],
    ),
    (
        "bad-parameter.yaml",
        ["6: timeline[0].latency: not a field of action 'kill'"],
        ["fields here: at, action, target, duration"],
    ),
    ("bad-empty-timeline.yaml", ["3: timeline: must not be empty"], ["timeline: [{at: 2s, action: kill"]),
    ("bad-name.yaml", ["2: name: 'Replica Kill' is not a valid name"], ["lowercase letters", "e.g. 'replica-kill'"]),
    (
        "bad-stop-condition.yaml",
        ["6: stop_conditions[0].for_: 'ten seconds' is not a duration", "7: stop_conditions[1].for: missing (required)"],
        ["add 'for:'", DURATION_TIP],
    ),
    ("bad-duplicate-key.yaml", ["6: slos.rto: duplicate key (first at line 5)"], ["keep one of them"]),
    (
        "bad-multiple.yaml",
        [
            "1: trials: Input should be greater than or equal to 1, got '0'",
            "2: name: 'Replica_Kill' is not a valid name",
            "5: timeline[0].action: unknown action 'explode'",
            "7: timeline[1].at: empty (no value after the colon)",
            "7: timeline[1].target: missing (required)",
            "10: slos.availability: '150%' is not between 0% and 100%",
            "12: description: duplicate key (first at line 11)",
        ],
        [
            f"timeline[0].action: action is one of: {ACTIONS}",
            f"timeline[1].at: {DURATION_TIP}",
            "trials: trials must be >= 1",
        ],
    ),
    (
        "bad-unknown-service.yaml",
        [f"5: timeline[0].target: 'model-z' is not a service the target lets faults touch ({SERVICE_FAULTS} act on services)"],
        ["did you mean 'model-b'? services: gateway, model-a, model-b, model-fallback, redis-1"],
    ),
    (
        "bad-unknown-hop.yaml",
        ["5: timeline[0].target: 'gateway->model-z' is not a hop the target lets faults touch"],
        ["did you mean 'gateway-model-", "hops (Toxiproxy proxies, also written from->to): gateway-model-a"],
    ),
    (
        "bad-service-not-hop.yaml",
        [
            "5: timeline[0].target: 'model-a' is not a hop the target lets faults touch"
            f" ({HOP_FAULTS} act on hops); it is a service",
            "8: timeline[1].target: 'gateway->model-b' is not a service the target lets faults touch"
            f" ({SERVICE_FAULTS} act on services); it is a hop",
        ],
        ["timeline[0].target: did you mean 'gateway-model-a'?", "timeline[1].target: did you mean 'model-b'?"],
    ),
    (
        "bad-overlap.yaml",
        [
            "11: timeline[2].at: overlaps timeline[0] (line 3) on 'model-a', which lasts 2s to 12s",
            "15: timeline[3].at: overlaps timeline[1] (line 7) on 'gateway-model-a', which lasts 20s to the end",
        ],
        ["start this one at 12s or later", "give timeline[1] a duration"],
    ),
    (
        "bad-absurd.yaml",
        [
            "4: load.users: 1e+15 is more than 1000: Locust runs as one process here",
            "5: load.rate: 1e+09 is more than 5000: Locust runs as one process here",
            "6: load.probe_timeout: 0s is less than 10ms: even a healthy stack takes milliseconds to answer: every",
            "8: timeline[0].at: 1e+300s is more than 24h: no run may last longer, as every request is kept in memory",
            "11: timeline[0].duration: 3.6e+23s is more than 24h: no run may last longer",
            "12: trials: 1000 is more than 100: each trial is a whole run",
        ],
        [f"load.probe_timeout: {DURATION_TIP}", "load.users: closed-loop Locust users"],
    ),
    (
        "bad-run-length.yaml",
        ["4: timeline[0].duration: the run would last 25.0h (warm-up, check, faults and observe_after), more than 24h"],
        ["shorten the run"],
    ),
    (
        "bad-payloads.yaml",
        [f"4: load.payloads: cannot read payload file {FIXTURES / 'no-such-payloads.jsonl'}: No such file"],
        ["a relative path starts from the scenario file's folder"],
    ),
    (
        "bad-after-load.yaml",
        ["6: timeline[1].at: 30s is not before the load ends (load.duration: 30s)"],
        ["start faults before 30s"],
    ),
]


@pytest.mark.parametrize(("fixture", "expected_lines", "tip_parts"), BAD, ids=[case[0] for case in BAD])
def test_bad_scenario_names_file_line_field_and_fix(fixture: str, expected_lines: list[str], tip_parts: list[str]) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(FIXTURES / fixture, services=SERVICES, hops=HOPS)
    lines = caught.value.message.splitlines()
    assert len(lines) == len(expected_lines), lines
    for line, expected in zip(lines, expected_lines, strict=True):
        assert line.startswith(f"{FIXTURES / fixture}:"), line
        assert f"{fixture}:{expected}" in line
    for part in tip_parts:
        assert part in caught.value.tip


def test_every_bad_fixture_is_in_the_table() -> None:
    assert {path.name for path in FIXTURES.glob("bad-*.yaml")} == {case[0] for case in BAD}


def test_a_scenario_error_is_bad_input() -> None:
    with pytest.raises(BadInput) as caught:
        load_scenario(FIXTURES / "bad-action.yaml")
    assert caught.value.exit_code == EXIT_BAD_INPUT


@pytest.mark.parametrize("fixture", sorted(path.name for path in FIXTURES.glob("good-*.yaml")))
def test_good_fixtures_load(fixture: str) -> None:
    assert load_scenario(FIXTURES / fixture, services=SERVICES, hops=HOPS).timeline


def test_merge_keys_aliases_and_units() -> None:
    scenario = load_scenario(FIXTURES / "good-full.yaml", services=SERVICES, hops=HOPS)
    first, merged = scenario.timeline[:2]
    assert (merged.at, merged.action, merged.latency, merged.jitter) == (12.0, "latency", 0.8, 0.1)
    assert first.at == 2.0
    assert [condition.for_ for condition in scenario.stop_conditions] == [10.0, 60.0]
    assert (scenario.load.duration, scenario.slos.accuracy) == (120.0, 0.8)


def test_shipped_scenarios_fit_the_reference_stack() -> None:
    spec = StackSettings().load_spec()
    paths = discover([REPO_ROOT / "scenarios"])
    assert paths
    for path in paths:
        load_scenario(path, services=set(spec.services), hops=spec.toxiproxy_hops())


def test_target_checks_are_skipped_without_the_stack() -> None:
    assert load_scenario(FIXTURES / "bad-unknown-service.yaml").timeline[0].target == "model-z"
    assert load_scenario(FIXTURES / "bad-unknown-hop.yaml", services=SERVICES).timeline[0].target == "gateway->model-z"
    with pytest.raises(ScenarioError):
        load_scenario(FIXTURES / "bad-unknown-hop.yaml", hops=HOPS)


@pytest.mark.parametrize(
    ("target", "proxy"),
    [("gateway->model-a", "gateway-model-a"), ("gateway-model-a", "gateway-model-a"), (" model-a->redis-1 ", "model-a-redis-1")],
)
def test_normalize_hop(target: str, proxy: str) -> None:
    assert normalize_hop(target) == proxy


def test_unreadable_files(tmp_path: Path) -> None:
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes(b"name: x\ndescription: caf\xe9\n")
    with pytest.raises(ScenarioError, match=r"latin1.yaml:2: not UTF-8 text"):
        load_scenario(binary)
    with pytest.raises(BadInput, match=r"nothing.yaml: cannot read it"):
        load_scenario(tmp_path / "nothing.yaml")


def test_discover_walks_folders_sorted_and_keeps_files_as_given(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "notes.txt", "sub/c.yaml", "sub/deeper/a.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    explicit = tmp_path / "notes.txt"
    found = discover([explicit, tmp_path])
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "notes.txt",
        "a.yml",
        "b.yaml",
        "sub/c.yaml",
        "sub/deeper/a.yaml",
    ]
    assert discover([tmp_path / "b.yaml", tmp_path / "b.yaml"]) == [tmp_path / "b.yaml"]


def test_discover_names_a_missing_path(tmp_path: Path) -> None:
    (tmp_path / "replica-kill.yaml").write_text("")
    with pytest.raises(BadInput) as caught:
        discover([tmp_path / "replica-kil.yaml"])
    assert caught.value.message == f"no such file or folder: {tmp_path / 'replica-kil.yaml'}"
    assert f"did you mean '{tmp_path / 'replica-kill.yaml'}'?" in caught.value.tip


def test_summarize() -> None:
    assert summarize(load_scenario(FIXTURES / "good-kill.yaml")) == (
        "replica-kill  kill model-a at 5s for 10s; SLO rto<=2s availability>=99.9%"
    )
    assert summarize(load_scenario(FIXTURES / "good-full.yaml")) == (
        "latency-and-partition  "
        "latency gateway->model-a (latency 800ms, jitter 100ms) at 2s for 10s, "
        "latency gateway->model-a (latency 800ms, jitter 100ms) at 12s for 10s, "
        "timeout gateway-model-b (timeout 0s) at 3s for 5s, "
        "partition model-a->redis-1 at 30s until the end; "
        "SLO rto<=4s rpo<=1s availability>=99% p50<=50ms p99<=1s accuracy>=80%"
    )


def test_payloads_are_relative_to_the_scenario_folder(tmp_path: Path) -> None:
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "mine.jsonl").write_text('{"features": [0.5, 1.5], "label": 1}\n')
    (folder / "scenario.yaml").write_text((FIXTURES / "good-kill.yaml").read_text() + "load: {payloads: mine.jsonl}\n")
    assert load_scenario(folder / "scenario.yaml").load.payloads == folder / "mine.jsonl"
    assert load_scenario(FIXTURES / "good-kill.yaml").load.payloads is None, "the target's own payloads"


def test_a_bad_payload_line_is_a_problem_on_the_payloads_line(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"body": {"features": [1]}, "label": 3.5}\n')
    (tmp_path / "scenario.yaml").write_text((FIXTURES / "good-kill.yaml").read_text() + "load:\n  payloads: bad.jsonl\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "scenario.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (9, "load.payloads")
    assert f"{tmp_path / 'bad.jsonl'}:1: label 3.5 is not an integer" in problem.message


def _billion_laughs() -> str:
    """Nine levels of nine aliases: 9**9 values once expanded."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]" for level in range(1, 9)]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("bomb", "says"),
    [("a: &a [*a]", "a recursive alias"), (_billion_laughs(), "billion laughs")],
    ids=["recursive", "billion-laughs"],
)
def test_validate_refuses_alias_bombs_with_exit_2(
    tmp_path: Path, bomb: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bomb.yaml").write_text(bomb)
    assert main(["validate", str(tmp_path / "bomb.yaml")]) == EXIT_BAD_INPUT
    assert says in capsys.readouterr().err


def test_a_fault_the_backend_cannot_do_is_refused_before_anything_starts(tmp_path: Path) -> None:
    path = tmp_path / "disconnect.yaml"
    path.write_text("name: disconnect\ntimeline:\n  - {at: 1s, action: disconnect, target: model-a, duration: 2s}\n")
    assert load_scenario(path, backend="compose").timeline[0].action == "disconnect"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, backend="local")
    assert ":3: timeline[0].action: disconnect needs the compose backend; this run uses local" in caught.value.message
    assert "--backend compose" in caught.value.tip


def test_summarize_shows_targets_over_trials(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(
        "name: gate\ntrials: 5\nslos: {rto: {p95: 2s}, ttd: 1s, availability: {min: 99%}}\n"
        "timeline:\n  - {at: 1s, action: kill, target: model-a, duration: 2s}\n"
    )
    assert summarize(load_scenario(path)).endswith("SLO rto<={p95: 2s} ttd<=1s availability>={min: 99%}")


def test_the_annotated_example_in_scenarios_readme_is_a_valid_scenario(tmp_path: Path) -> None:
    """Every field the docs show validates (the example's target file is the docs' own: left out)."""
    readme = (Path(__file__).resolve().parents[2] / "scenarios" / "README.md").read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text("\n".join(line for line in example.splitlines() if not line.startswith(("target:", "  payloads:"))))
    assert load_scenario(path).runbook

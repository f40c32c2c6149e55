"""The stack declaration and how the local backend derives host processes from it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.errors import BadInput, MissingBinary, UnknownService
from harness.stack import local_plan
from harness.stack.base import StackSettings
from harness.stack.local_plan import find_executable, plan_stack
from harness.stack.spec import StackSpec, interpolate, load_stack_spec, parse_duration


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A-x}", {}, "x"),
        ("${A}", {"A": "1"}, "1"),
        ("$${A}", {"A": "1"}, "${A}"),
        ("0.0.0.0:${P:-8080}", {"P": "9090"}, "0.0.0.0:9090"),
    ],
)
def test_interpolation_follows_compose(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1.0), ("500ms", 0.5), ("1m30s", 90.0), (2, 2.0)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_names_the_fix() -> None:
    with pytest.raises(BadInput, match="invalid duration '1 sec'"):
        parse_duration("1 sec")


def test_reference_stack_starts_dependencies_first() -> None:
    order = load_stack_spec().start_order()
    assert order.index("redis-1") < order.index("redis-2") < order.index("sentinel-1") < order.index("model-a")
    assert order.index("toxiproxy") < order.index("gateway")


def test_every_service_has_a_healthcheck_and_loopback_only_ports() -> None:
    spec = load_stack_spec()
    for service in spec.services.values():
        assert service.healthcheck is not None, service.name
        assert all(port.host_ip == "127.0.0.1" for port in service.ports), service.name


def test_published_ports_follow_the_settings() -> None:
    spec = StackSettings(gateway_port=9080, stats_port=9404, toxiproxy_port=9474).load_spec()
    assert [port.host_port for port in spec.services["gateway"].ports] == [9080, 9404]
    assert spec.services["gateway"].environment["GATEWAY_BIND"] == "0.0.0.0:9080"
    assert [port.host_port for port in spec.services["toxiproxy"].ports] == [9474]


def test_unknown_service_suggests_a_close_name() -> None:
    with pytest.raises(UnknownService) as raised:
        load_stack_spec().service("model-c")
    assert "did you mean 'model-a'" in raised.value.tip or "did you mean 'model-b'" in raised.value.tip


def test_dependency_cycle_is_bad_input(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  a: {command: [x], depends_on: [b]}\n  b: {command: [x], depends_on: [a]}\n")
    with pytest.raises(BadInput, match="depends_on cycle"):
        load_stack_spec(compose).start_order()


def _programs(spec: StackSpec) -> set[str]:
    """Every executable the plan looks up: each command's, each launched one's (after `--`) and
    each CMD healthcheck's program."""
    programs = {service.command[0] for service in spec.services.values()}
    programs |= {c[c.index("--") + 1] for c in (s.command for s in spec.services.values()) if "--" in c}
    checks = (service.healthcheck.test for service in spec.services.values() if service.healthcheck)
    return programs | {test[1] for test in checks if test[0] == "CMD"}


@pytest.fixture
def stub_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH of stub executables only: the plan is tested, not the host's installed binaries."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for program in _programs(load_stack_spec()):
        stub = stubs / program
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", str(stubs))
    monkeypatch.setattr(local_plan, "TOOLS_BIN", tmp_path / "no-tools")
    return stubs


@pytest.fixture
def plans(tmp_path: Path, stub_bin: Path) -> dict:
    return {plan.name: plan for plan in plan_stack(load_stack_spec(), tmp_path / "run")}


def test_local_plan_resolves_programs_on_path(plans: dict, stub_bin: Path) -> None:
    assert plans["gateway"].argv[0] == str(stub_bin / "haproxy")
    assert plans["redis-1"].healthcheck[0] == str(stub_bin / "redis-cli")
    assert plans["model-a"].argv[0] == sys.executable, "python is the harness's own interpreter"


def test_local_plan_rewrites_hosts_to_loopback(plans: dict) -> None:
    model = plans["model-a"]
    assert model.env["LISTEN"] == "127.0.0.1:8001"
    assert model.env["SERVER_NAME"] == "model-a", "a bare name in the environment is a name, not an address"
    assert model.env["REDIS_ROUTES"] == "127.0.0.1:16379=127.0.0.1:16401,127.0.0.1:16380=127.0.0.1:16402"
    replica = plans["redis-2"].argv
    assert replica[replica.index("--replicaof") + 1] == "127.0.0.1", "a bare hostname argument is an address"


def test_local_plan_resolves_a_launched_program_and_gives_the_launcher_addresses(plans: dict, stub_bin: Path) -> None:
    """compose/redis/pin_hosts.py pins names in a container's /etc/hosts; here it gets 127.0.0.1, pins
    nothing, and execs a program found like any service's own."""
    replica = plans["redis-2"].argv
    launched = replica.index("--") + 1
    assert replica[0] == sys.executable and replica[1].endswith("compose/redis/pin_hosts.py")
    assert set(replica[2 : launched - 1]) == {"127.0.0.1"}
    assert replica[launched] == str(stub_bin / "redis-server")
    sentinel = plans["sentinel-1"].argv
    assert sentinel[sentinel.index("--") + 1] == sys.executable


def test_local_plan_maps_container_paths_to_the_mounts(plans: dict) -> None:
    repo = Path(__file__).resolve().parents[2]
    assert plans["gateway"].argv[-1] == str(repo / "compose" / "gateway" / "haproxy.cfg")
    assert plans["model-a"].cwd == str(repo / "compose" / "modelserver")
    assert plans["model-a"].env["REGISTRY_DIR"] == str(repo / "fixtures" / "models")


def test_local_plan_renders_toxiproxy_config_and_collects_listen_ports(plans: dict) -> None:
    toxiproxy = plans["toxiproxy"]
    rendered = json.loads(Path(toxiproxy.argv[toxiproxy.argv.index("-config") + 1]).read_text())
    assert {proxy["listen"].split(":")[0] for proxy in rendered} == {"127.0.0.1"}
    assert {proxy["upstream"].split(":")[0] for proxy in rendered} == {"127.0.0.1"}
    assert {18001, 18002, 18003, 16401, 8474} <= set(toxiproxy.listen_ports)


def test_missing_binary_says_how_to_install() -> None:
    with pytest.raises(MissingBinary) as raised:
        find_executable("redis-server-that-does-not-exist")
    assert "not found on PATH" in raised.value.message


def test_control_socket_path_stays_within_the_af_unix_limit(tmp_path: Path) -> None:
    from harness.stack.supervisor import control_socket

    short = tmp_path / "run"
    assert control_socket(short) == short / "control.sock"
    deep = tmp_path / ("x" * 120) / "run"
    assert len(str(control_socket(deep))) <= 100
    assert control_socket(deep) == control_socket(deep), "client and supervisor agree on it"
    assert control_socket(deep) != control_socket(tmp_path / ("y" * 120) / "run")

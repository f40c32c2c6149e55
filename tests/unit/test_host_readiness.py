"""Readiness from the host: which stacks get it, the commands it runs, and what it changes in a status."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.stack.base import ServiceStatus
from harness.stack.local_plan import (
    MAX_HEALTH_INTERVAL_S,
    host_healthcheck,
    plan_service,
)
from harness.stack.readiness import HostReadiness, opts_in
from harness.stack.spec import DEFAULT_COMPOSE_FILE, REPO_ROOT, load_stack_spec

USER_STACK = """\
services:
  web:
    image: nginx
    ports: ["127.0.0.1:18080:80"]
    healthcheck:
      test: [CMD, curl, -f, http://localhost/health]
"""


def _status(name: str, health: str, state: str = "running") -> ServiceStatus:
    return ServiceStatus(name, state, health)  # type: ignore[arg-type]


def test_the_reference_stack_opts_in_and_a_user_stack_does_not(tmp_path: Path) -> None:
    user = tmp_path / "docker-compose.yml"
    user.write_text(USER_STACK)
    assert opts_in(DEFAULT_COMPOSE_FILE)
    assert not opts_in(user)
    assert HostReadiness.for_stack(load_stack_spec(user, {}))._commands == {}


def test_a_healthcheck_runs_on_the_host_through_loopback_and_the_bind_mounts() -> None:
    spec = load_stack_spec(DEFAULT_COMPOSE_FILE, {})
    assert host_healthcheck(spec, spec.services["model-a"]) == [
        sys.executable,
        "-S",
        str(REPO_ROOT / "compose" / "tools" / "http_ok.py"),
        "http://127.0.0.1:8001/readyz",
    ]


def test_a_disabled_healthcheck_gives_no_host_command(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  web:\n    image: x\n    healthcheck: {test: [NONE]}\n")
    spec = load_stack_spec(compose, {})
    assert host_healthcheck(spec, spec.services["web"]) is None


def test_a_passing_host_check_makes_a_starting_container_healthy_once_per_instance(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    count_run = [sys.executable, "-c", f"open({str(runs)!r}, 'a').write('x')"]
    readiness = HostReadiness({"model-a": (count_run, 5.0), "redis-1": (["false"], 5.0)})
    statuses = [_status("model-a", "starting"), _status("redis-1", "starting"), _status("gateway", "starting")]
    instances = {"model-a": "c1@t0", "redis-1": "c2@t0", "gateway": "c3@t0"}
    first = readiness.apply(statuses, instances)
    assert [status.health for status in first] == ["healthy", "starting", "starting"]
    again = readiness.apply(statuses, instances)
    assert again[0].health == "healthy"
    assert runs.read_text() == "x", "a passed instance is not checked again"
    restarted = readiness.apply(statuses, {**instances, "model-a": "c1@t1"})
    assert restarted[0].health == "healthy"
    assert runs.read_text() == "xx", "a restarted container is checked afresh"


def test_dockers_verdict_and_stopped_containers_are_left_alone() -> None:
    readiness = HostReadiness({"a": (["true"], 5.0), "b": (["true"], 5.0), "c": (["true"], 5.0)})
    statuses = [_status("a", "unhealthy"), _status("b", "healthy"), _status("c", "starting", state="exited")]
    result = readiness.apply(statuses, {"a": "1", "b": "2", "c": "3"})
    assert [(status.state, status.health) for status in result] == [
        ("running", "unhealthy"),
        ("running", "healthy"),
        ("exited", "starting"),
    ]
    assert not result[2].ready


def test_the_local_backend_checks_health_at_most_five_seconds_apart(tmp_path: Path) -> None:
    """The compose interval is long for Docker's sake; a restarted local service must not wait it out."""
    spec = load_stack_spec(DEFAULT_COMPOSE_FILE, {})
    model_a = spec.services["model-a"]
    assert model_a.healthcheck is not None and model_a.healthcheck.interval_s > MAX_HEALTH_INTERVAL_S
    assert plan_service(spec, model_a, tmp_path).health_interval_s == MAX_HEALTH_INTERVAL_S

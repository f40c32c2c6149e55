"""Service faults beyond kill/stop/pause on the real local stack: restart and a crash loop, each
leaving the service running after its revert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.faults import FaultContext, build_fault, parse_fault
from harness.faults.service.crash_loop import CrashLoop
from harness.stack.local import LocalStack
from tests.integration._runs import running_local_stack, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(isolated_state: Path) -> Iterator[LocalStack]:
    with running_local_stack() as running:
        yield running


def _fault(stack: LocalStack, **spec: object) -> object:
    return build_fault(parse_fault({"at": 0, **spec}), FaultContext(stack, stack.endpoints().toxiproxy_url))


def _state(stack: LocalStack, service: str) -> str:
    return {status.name: status.state for status in stack.status()}[service]


def _pid(stack: LocalStack, service: str) -> str:
    return next(status.ref for status in stack.status() if status.name == service)


def test_restart_gives_the_service_a_new_process(stack: LocalStack) -> None:
    before = _pid(stack, "model-b")
    fault = _fault(stack, action="restart", target="model-b")
    fault.inject()  # type: ignore[attr-defined]
    wait_until(lambda: _pid(stack, "model-b") not in ("", before), "model-b runs as a new process")
    fault.revert()  # type: ignore[attr-defined]
    assert {s.name: s.state for s in stack.status()}["model-b"] == "running"


def test_a_crash_loop_kills_again_and_again_and_its_revert_leaves_it_running(stack: LocalStack) -> None:
    fault = _fault(stack, action="crash_loop", target="model-b", every="1s", down_for="300ms")
    assert isinstance(fault, CrashLoop)
    fault.inject()
    seen = set()
    deadline = time.monotonic() + 30
    while fault.crashes < 3 and time.monotonic() < deadline:
        seen.add({s.name: s.state for s in stack.status()}["model-b"])
        time.sleep(0.05)
    fault.revert()
    assert fault.crashes >= 3
    assert "running" in seen and seen - {"running"}, f"model-b was seen {seen}: never down and up again"
    assert {s.name: s.state for s in stack.status()}["model-b"] == "running"


def test_a_signal_ends_the_process_and_it_stays_down_until_the_revert(stack: LocalStack) -> None:
    """SIGTERM ends the model server gracefully; as with `docker kill --signal`, the restart policy does
    not bring it back (stopped by hand), and the revert starts it."""
    fault = _fault(stack, action="signal", target="model-b", signal="TERM")
    fault.inject()  # type: ignore[attr-defined]
    wait_until(lambda: _state(stack, "model-b") != "running", "model-b ends on SIGTERM")
    time.sleep(1.0)  # the supervisor's restart back-off starts at 0.1 s: a restart would show by now
    assert _state(stack, "model-b") != "running", "the restart policy brought a signalled service back"
    fault.revert()  # type: ignore[attr-defined]
    assert _state(stack, "model-b") == "running"


def test_a_signal_the_process_handles_leaves_it_running(stack: LocalStack) -> None:
    before = _pid(stack, "model-b")
    fault = _fault(stack, action="signal", target="model-b", signal="SIGWINCH")  # ignored by default
    fault.inject()  # type: ignore[attr-defined]
    fault.revert()  # type: ignore[attr-defined]
    assert (_state(stack, "model-b"), _pid(stack, "model-b")) == ("running", before)


def test_zone_loss_takes_down_every_service_of_the_zone_and_only_them(stack: LocalStack) -> None:
    zones = {"zone-b": ("model-b", "redis-2", "sentinel-2")}
    context = FaultContext(stack, stack.endpoints().toxiproxy_url, zones=zones)
    fault = build_fault(parse_fault({"at": 0, "action": "zone_loss", "target": "zone-b"}), context)
    fault.inject()
    states = {s.name: s.state for s in stack.status()}
    assert all(states[name] != "running" for name in zones["zone-b"])
    assert {name for name, state in states.items() if state != "running"} == set(zones["zone-b"])
    fault.revert()
    assert {s.state for s in stack.status()} == {"running"}

"""Fast failover on both backends: a hung replica leaves the pool, and readiness means ready.

The stack fixtures are test_stack.py's (one reference stack per backend). The speed of each
(TTD, p99 during the fault) is tests/benchmarks/failover_speed_bench.py's to print.
"""

from __future__ import annotations

import subprocess

import httpx
import pytest

from harness.load.payloads import load_payloads
from harness.load.probe import ProbeStream
from harness.stack import Stack
from harness.stack.base import ServiceStatus
from harness.stack.local_plan import host_healthcheck
from harness.targets.reference import ReferenceTarget
from tests.integration.stack_checks import haproxy_state, wait_for
from tests.integration.test_stack import environment, stack  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def test_a_paused_replica_is_marked_down_and_no_request_fails(stack: Stack) -> None:  # noqa: F811
    entry = ReferenceTarget(stack.settings).entry
    try:
        with ProbeStream(entry, load_payloads(entry.payloads), rate=120, timeout_s=2.0) as probe:
            wait_for(lambda: len(probe.records()) > 100, 10, "load to be flowing")
            stack.pause("model-a")
            wait_for(lambda: haproxy_state(stack, "model-a") == "DOWN", 5, "HAProxy to mark model-a DOWN")
            wait_for(lambda: len(probe.records()) > 400, 10, "load after the pause")
        records = probe.stop()
    finally:
        stack.unpause("model-a")
    assert [record for record in records if not record.ok] == []
    wait_for(lambda: haproxy_state(stack, "model-a") == "UP", 30, "model-a back UP")


def test_ready_services_pass_their_own_healthcheck_and_a_restart_waits_for_it(stack: Stack) -> None:  # noqa: F811
    for service in stack.spec.services.values():
        command = host_healthcheck(stack.spec, service)
        assert command is None or subprocess.run(command, capture_output=True, timeout=10, check=False).returncode == 0, service
    stack.kill("model-b")
    wait_for(lambda: not _status(stack, "model-b").ready, 30, "model-b to be reported not ready")
    stack.start("model-b")
    # within Docker's first probe of the new container (60 s): readiness is the harness's own check
    wait_for(lambda: _status(stack, "model-b").ready, 45, "model-b ready again")
    host, port = stack.endpoints().address("model-b")
    assert httpx.get(f"http://{host}:{port}/readyz", timeout=5).status_code == 200


def _status(of: Stack, service: str) -> ServiceStatus:
    return next(status for status in of.status() if status.name == service)


def test_up_on_a_running_stack_keeps_it(stack: Stack) -> None:  # noqa: F811
    """What `failover run --keep-up` twice does: the second `up` finds the stack's own ports busy."""
    refs = {status.name: status.ref for status in stack.status()}
    stack.up(timeout_s=60, progress=False)
    assert {status.name: status.ref for status in stack.status()} == refs

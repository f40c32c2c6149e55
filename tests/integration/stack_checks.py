"""Helpers for tests that drive a whole stack: waiting, leftovers, tampering."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psutil

from harness.observe.haproxy import server_states
from harness.stack import Stack
from harness.stack.local_plan import plan_stack
from harness.stack.ports import port_is_free


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.05) -> float:
    """Seconds until `condition()` held; fails the test with `what` at the deadline."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(poll_s)
    return time.monotonic() - started


def haproxy_state(stack: Stack, server: str) -> str:
    try:
        return server_states(stack.endpoints().stats_url).get(server, "?")
    except Exception:
        return "?"


def stack_ports(stack: Stack, scratch: Path) -> set[int]:
    """Every port the stack listens on on the host (published ports, and for local all listen ports)."""
    ports = {port.host_port for service in stack.spec.services.values() for port in service.ports}
    if stack.backend == "local":
        ports |= {port for plan in plan_stack(stack.spec, scratch) for port in plan.listen_ports}
    return ports


def processes_with_env(name: str, value: str) -> list[str]:
    """Live processes whose environment has name=value (how a local stack's processes are found)."""
    found = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            if process.environ().get(name) == value and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {process.info['name']}")
        except psutil.Error:
            continue
    return found


def leftovers(stack: Stack, scratch: Path, state_dir: Path) -> list[str]:
    """What a stack left behind after `down`: busy ports, live processes, containers."""
    found = [f"port {port} busy" for port in sorted(stack_ports(stack, scratch)) if not port_is_free(port)]
    found += processes_with_env("FAILOVER_STATE_DIR", str(state_dir))
    if stack.backend == "compose":
        import docker

        client = docker.from_env()
        label = f"com.docker.compose.project={stack.settings.project}"
        found += [f"container {c.name}" for c in client.containers.list(all=True, filters={"label": label})]
        found += [f"network {n.name}" for n in client.networks.list(filters={"label": label})]
        found += [f"volume {v.name}" for v in client.volumes.list(filters={"label": label})]
    return found


def flip_one_byte(path: Path) -> bytes:
    """Tamper with an artifact in place; returns the original bytes to restore."""
    original = path.read_bytes()
    index = len(original) // 2  # inside the weights: a wrong sha256
    tampered = original[:index] + bytes([original[index] ^ 0x01]) + original[index + 1 :]
    path.write_bytes(tampered)
    return original

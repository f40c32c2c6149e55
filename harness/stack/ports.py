"""Checks that the ports a stack will listen on are free, naming any owner."""

from __future__ import annotations

import socket
from collections.abc import Iterable

import psutil

from harness.errors import PortInUse


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int) -> str:
    """'pid 123 (haproxy -f ...)' for the process listening on `port`, or a best guess."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return "another process (run as root to see which)"
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            return _describe(connection.pid)
    return "another process"


def _describe(pid: int | None) -> str:
    if pid is None:
        return "another process"
    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        return f"pid {pid}"
    if process.name() == "docker-proxy":
        return f"pid {pid} (docker-proxy: a container publishes it; `docker ps` shows which)"
    return f"pid {pid} ({command[:80]})"


def ensure_ports_free(ports: Iterable[tuple[int, str]]) -> None:
    """Raise `PortInUse` for the first (port, purpose) that something already listens on."""
    for port, purpose in ports:
        if not port_is_free(port):
            raise PortInUse(port, purpose, port_owner(port))

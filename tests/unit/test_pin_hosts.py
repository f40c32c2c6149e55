"""compose/redis/pin_hosts.py: its lines in /etc/hosts, and that it only runs the command off Docker."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "compose" / "redis" / "pin_hosts.py"


@pytest.fixture(scope="module")
def pin_hosts() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pin_hosts", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DOCKER_HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n172.18.0.9\t5f2c0a1b\n"


def test_pins_are_added_then_replaced_in_place_keeping_dockers_lines(pin_hosts: ModuleType, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(DOCKER_HOSTS)
    inode = hosts.stat().st_ino

    pin_hosts.write_pins(hosts, {"redis-2": "172.18.0.4", "redis-1": "172.18.0.3"})
    pin_hosts.write_pins(hosts, {"redis-1": "172.18.0.12", "redis-2": "172.18.0.4"})

    assert hosts.stat().st_ino == inode, "written in place: Docker bind-mounts /etc/hosts"
    assert hosts.read_text() == DOCKER_HOSTS + (
        f"172.18.0.12\tredis-1\t{pin_hosts.MARK}\n172.18.0.4\tredis-2\t{pin_hosts.MARK}\n"
    )


def test_addresses_need_no_pin_so_off_docker_it_only_runs_the_command() -> None:
    """The local backend hands it 127.0.0.1 for every name: no watcher, and the command replaces it
    (same process id), so a kill fault on the service kills the program itself."""
    code = "import os; print(os.getpid())"
    launcher = subprocess.Popen(
        [sys.executable, str(SCRIPT), "127.0.0.1", "127.0.0.1", "--", sys.executable, "-c", code],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, err = launcher.communicate(timeout=30)
    assert (launcher.returncode, err) == (0, "")
    assert out.split()[0] == str(launcher.pid)
    assert "pin_hosts:" not in out


def test_without_a_command_it_says_how_to_call_it() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "redis-1"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "usage: pin_hosts.py NAME... -- COMMAND" in out.stderr


def test_names_are_pinned_only_where_dockers_dns_resolves(
    pin_hosts: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 10.255.255.53\nsearch example\n")
    monkeypatch.setattr(pin_hosts, "RESOLV_CONF", resolv)
    assert not pin_hosts._docker_dns_resolves()
    resolv.write_text("# Docker\nnameserver 127.0.0.11\noptions ndots:0\n")
    assert pin_hosts._docker_dns_resolves()

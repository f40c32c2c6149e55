"""The stack declaration: a Compose file read once, for both backends.

`load_stack_spec` parses the compose file the way Compose does (YAML merge
keys, `${VAR:-default}` interpolation from the environment) into typed
`ServiceSpec`s. The compose backend hands the file itself to Compose; the
local backend derives host processes from these specs (see `local_plan.py`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import BadInput

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_COMPOSE_FILE = REPO_ROOT / "compose" / "docker-compose.yml"

_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\})")
_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|us|s|m|h)")
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class PortMapping:
    host_ip: str
    host_port: int
    container_port: int


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_s: float = 30.0
    timeout_s: float = 30.0
    retries: int = 3


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[Mount, ...] = ()
    healthcheck: Healthcheck | None = None
    depends_on: tuple[str, ...] = ()
    restart: str = "no"
    render: tuple[str, ...] = ()
    """Container paths of config files the local backend rewrites (x-local.render)."""
    zone: str | None = None
    """The failure domain it runs in (label `failover.zone`): `zone_loss` takes a whole zone down."""


@dataclass(frozen=True)
class StackSpec:
    compose_file: Path
    services: Mapping[str, ServiceSpec]

    def service(self, name: str) -> ServiceSpec:
        from harness.errors import UnknownService

        if name not in self.services:
            raise UnknownService(name, list(self.services))
        return self.services[name]

    def toxiproxy_hops(self) -> set[str]:
        """Names of the Toxiproxy proxies the stack creates from its `-config` file."""
        for service in self.services.values():
            if "-config" in service.command:
                path = service.command[service.command.index("-config") + 1]
                host_path = container_to_host(path, service.mounts)
                if host_path is not None and host_path.exists():
                    return {proxy["name"] for proxy in json.loads(host_path.read_text())}
        return set()

    def start_order(self) -> list[str]:
        """Service names with every service after the ones it depends on."""
        ordered: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in ordered:
                return
            if name in path:
                raise BadInput(f"{self.compose_file}: depends_on cycle {' -> '.join(path + (name,))}")
            for dependency in self.service(name).depends_on:
                visit(dependency, path + (name,))
            ordered.append(name)

        for name in self.services:
            visit(name, ())
        return ordered


def container_to_host(container_path: str, mounts: tuple[Mount, ...]) -> Path | None:
    """The host path behind `container_path` through the deepest bind mount that covers it."""
    for mount in sorted(mounts, key=lambda mount: len(mount.target), reverse=True):
        prefix = mount.target.rstrip("/")
        if container_path == prefix or container_path.startswith(prefix + "/"):
            return Path(str(mount.source) + container_path[len(prefix) :])
    return None


def parse_duration(text: str | int | float) -> float:
    """Compose durations ('1s', '500ms', '1m30s') in seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(p.group(0) for p in parts) != text:
        raise BadInput(f"invalid duration '{text}'", "use Compose durations such as 500ms, 1s, 1m30s")
    return sum(float(p["value"]) * _UNIT_SECONDS[p["unit"]] for p in parts)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose-style `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$$` on every string."""
    if isinstance(value, str):
        return _INTERPOLATION.sub(lambda match: _substitute(match, env), value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match.group(0) == "$$":
        return "$"
    name, op, default = match["name"], match["op"], match["default"] or ""
    current = env.get(name)
    if op == ":-" and not current:
        return default
    if op == "-" and current is None:
        return default
    return current or ""


def load_stack_spec(compose_file: Path = DEFAULT_COMPOSE_FILE, env: Mapping[str, str] | None = None) -> StackSpec:
    """Read the compose file into a `StackSpec`, interpolated with `env` (default: os.environ)."""
    try:
        raw = yaml.safe_load(compose_file.read_text())
    except OSError as error:
        raise BadInput(f"cannot read stack file {compose_file}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise BadInput(f"{compose_file}: invalid YAML: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise BadInput(f"{compose_file}: no 'services' mapping", "a stack file is a Compose file with services")
    data = interpolate(raw, dict(os.environ) if env is None else env)
    base_dir = compose_file.parent
    services = {name: _service(name, body or {}, base_dir) for name, body in data["services"].items()}
    return StackSpec(compose_file=compose_file, services=services)


def _service(name: str, body: dict[str, Any], base_dir: Path) -> ServiceSpec:
    command = body.get("command") or []
    if isinstance(command, str):
        command = shlex.split(command)
    return ServiceSpec(
        name=name,
        command=tuple(str(part) for part in command),
        environment=_environment(body.get("environment") or {}),
        working_dir=body.get("working_dir"),
        ports=tuple(_port(item) for item in body.get("ports") or []),
        mounts=tuple(_mount(str(item), base_dir) for item in body.get("volumes") or [] if _is_bind(item)),
        healthcheck=_healthcheck(body.get("healthcheck")),
        depends_on=tuple(body.get("depends_on") or ()),
        restart=str(body.get("restart", "no")),
        render=tuple((body.get("x-local") or {}).get("render") or ()),
        zone=_labels(body.get("labels") or {}).get(ZONE_LABEL),
    )


ZONE_LABEL = "failover.zone"


def _labels(value: dict[str, Any] | list[str]) -> dict[str, str]:
    """Compose labels, written as a mapping or as a list of `key=value`."""
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    return dict(str(item).partition("=")[::2] for item in value)


def _environment(value: dict[str, Any] | list[str]) -> dict[str, str]:
    if isinstance(value, list):
        return dict(item.split("=", 1) for item in value)
    return {key: "" if item is None else str(item) for key, item in value.items()}


def _port(item: str | int | dict[str, Any]) -> PortMapping:
    """Short syntax ('127.0.0.1:8080:80', '8080:80/tcp', '80') or long syntax (a mapping)."""
    if isinstance(item, dict):
        target = int(item["target"])
        return PortMapping(str(item.get("host_ip", "0.0.0.0")), int(item.get("published", target)), target)
    parts = str(item).split("/")[0].split(":")
    if len(parts) == 3:
        return PortMapping(parts[0], int(parts[1]), int(parts[2]))
    if len(parts) == 2:
        return PortMapping("0.0.0.0", int(parts[0]), int(parts[1]))
    return PortMapping("0.0.0.0", int(parts[0]), int(parts[0]))


def _is_bind(item: str | dict[str, Any]) -> bool:
    """A bind mount ('./x:/y', '/x:/y'), not a named volume ('data:/y') or the long syntax."""
    return isinstance(item, str) and ":" in item and item.split(":")[0].startswith((".", "/", "$", "~"))


def _mount(text: str, base_dir: Path) -> Mount:
    source, target, *mode = text.split(":")
    return Mount((base_dir / source).resolve(), target, read_only=mode == ["ro"])


def _healthcheck(body: dict[str, Any] | None) -> Healthcheck | None:
    if not body:
        return None
    test = body["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    return Healthcheck(
        test=tuple(str(part) for part in test),
        interval_s=parse_duration(body.get("interval", "30s")),
        timeout_s=parse_duration(body.get("timeout", "30s")),
        retries=int(body.get("retries", 3)),
    )

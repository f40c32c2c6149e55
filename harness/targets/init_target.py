"""`failover init`: a starter target and two starter scenarios, read from a user's compose file.

What is read: services, loopback-usable published ports, healthchecks (an HTTP
URL on a published port becomes an `http` signal), candidate hops from
`depends_on` and from `host:port` references in the services' environment.
What had to be guessed is marked `# guessed: ...` in the written files, so the
user reviews those lines first. Nothing is ever overwritten without `force`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import BadInput
from harness.stack.spec import PortMapping, interpolate

DEFAULT_TOXIPROXY_PORT = 8475
_LOOPBACK_USABLE = {"", "0.0.0.0", "127.0.0.1", "::", "localhost"}
_LOCAL_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0)(?::(?P<port>\d+))?(?P<path>/[^\s\"']*)?")
_REPLICA_SUFFIX = re.compile(r"[-_]?\d+$")


@dataclass(frozen=True)
class ComposeService:
    """What `init` needs from one service of the compose file."""

    name: str
    image: str | None
    command: Any
    environment: Mapping[str, str]
    ports: tuple[PortMapping, ...]
    healthcheck: tuple[str, ...]
    depends_on: tuple[str, ...]
    exposed: tuple[int, ...] = ()
    replicas: int = 1

    def host_port(self, container_port: int) -> int | None:
        """The loopback-usable host port publishing `container_port`, if any."""
        for port in self.ports:
            if port.container_port == container_port and port.host_ip in _LOOPBACK_USABLE:
                return port.host_port
        return None


@dataclass(frozen=True)
class Line:
    """One YAML line of a starter file, with an optional trailing comment."""

    text: str
    comment: str = ""

    def render(self) -> str:
        return f"{self.text}  # {self.comment}" if self.comment else self.text


@dataclass
class Starter:
    """What `init` found or guessed; rendered into the three files."""

    name: str
    name_guess: str
    services: list[str]
    entry: Line
    kill: tuple[str, str]  # (service, comment)
    entry_service: str | None = None
    hops: list[tuple[str, str, str]] = field(default_factory=list)  # (hop, upstream, comment)
    signals: list[Line] = field(default_factory=list)
    sql_dsn: str = "postgresql://user:password@127.0.0.1:5432/db"


def read_compose(path: Path, env: Mapping[str, str] | None = None) -> dict[str, ComposeService]:
    """The services of a compose file, with YAML merge keys and `${VAR:-default}` resolved."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise BadInput(f"cannot read compose file {path}: {error.strerror}", "pass the stack's compose file") from error
    except yaml.YAMLError as error:
        raise BadInput(f"{path}: invalid YAML: {error}", "fix the compose file first") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict) or not raw["services"]:
        raise BadInput(f"{path}: no 'services' mapping", "pass a Compose file (it has a top-level 'services:')")
    data = interpolate(raw, dict(os.environ) if env is None else env)
    return {name: _service(path, name, body or {}) for name, body in data["services"].items()}


def plan_starter(services: Mapping[str, ComposeService], compose_file: Path, name: str | None = None) -> Starter:
    """Decide the target's contents from the compose file's services."""
    target_name, name_guess = _name(compose_file, name)
    hops = _hops(services)
    entry_service, entry = _entry(services, {upstream.split(":")[0] for _, upstream, _ in hops})
    return Starter(
        name=target_name,
        name_guess=name_guess,
        services=list(services),
        entry=entry,
        entry_service=entry_service,
        hops=hops,
        signals=_signals(services),
        kill=_replica(services),
        sql_dsn=_postgres_dsn(services) or Starter.sql_dsn,
    )


def write_starter(
    compose_file: Path, out_dir: Path, *, name: str | None = None, force: bool = False,
    env: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write `<name>.target.yaml` and two starter scenarios into `out_dir`; return their paths."""
    starter = plan_starter(read_compose(compose_file, env), compose_file, name)
    target = out_dir / f"{starter.name}.target.yaml"
    files = {
        target: render_target(starter, os.path.relpath(compose_file.resolve(), out_dir.resolve())),
        out_dir / f"{starter.name}-replica-kill.yaml": render_replica_kill(starter, target.name),
        out_dir / f"{starter.name}-hop-latency.yaml": render_hop_latency(starter, target.name),
    }
    existing = [str(path) for path in files if path.exists()]
    if existing and not force:
        raise BadInput(f"{', '.join(existing)} already exist(s); nothing was written", "pass --force to overwrite")
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
    return list(files)


def render_target(starter: Starter, compose_path: str) -> str:
    lines = [
        f"# Starter target written by `failover init` from {compose_path}.",
        "# Review every line marked '# guessed:' before the first run.",
        Line(f"name: {starter.name}", starter.name_guess).render(),
        Line(f"compose_file: {_q(compose_path)}", "relative to this file; the harness never edits it").render(),
        f"project: failover-{starter.name}",
        "attach: false  # true: the stack is already running; the harness never brings it up or down",
        Line(f"toxiproxy: http://127.0.0.1:{DEFAULT_TOXIPROXY_PORT}", "guessed: a free loopback port for the "
             "harness's own Toxiproxy API").render(),
        "entry:",
        "  " + starter.entry.render(),
        "  method: POST  # guessed",
        "  payloads: payloads.jsonl  # create it: one JSON object a line, {\"body\": <request JSON>, \"label\": <int>}",
        "  # prediction: score  # dotted path of the prediction in the response JSON (for accuracy)",
        "  # served_by_header: X-Upstream  # which replica answered, if the stack says so",
        "request_id_header: X-Request-Id",
        "ready_timeout: 120s",
        Line(f"services: [{', '.join(starter.services)}]", "opt-in: remove any service faults must not touch").render(),
        *_hop_lines(starter),
        *_signal_lines(starter),
        "# store:  # RPO read-back; without it RPO is 'not measured'. Name the table your stack writes to:",
        f"#   sql: {{dsn: {_q(starter.sql_dsn)}, query: \"select count(*) from predictions where request_id = %s\"}}",
    ]
    return "\n".join(lines) + "\n"


def render_replica_kill(starter: Starter, target_file: str) -> str:
    service, comment = starter.kill
    return _scenario(
        f"{starter.name}-replica-kill",
        f"One replica ({service}) is SIGKILLed under load; its siblings must keep every request answered.",
        target_file,
        [Line("  - at: 2s"), Line("    action: kill"), Line(f"    target: {service}", comment), 
         Line("    duration: 8s")],
    )


def render_hop_latency(starter: Starter, target_file: str) -> str:
    hop, comment = _latency_hop(starter)
    return _scenario(
        f"{starter.name}-hop-latency",
        f"Responses on the hop {hop} slow down by 800 ms (+/- 100 ms) under load.",
        target_file,
        [
            Line("  - at: 2s"),
            Line("    action: latency"),
            Line(f"    target: {hop}", comment),
            Line("    latency: 800ms"),
            Line("    jitter: 100ms"),
            Line("    duration: 12s"),
        ],
    )


def _scenario(name: str, description: str, target_file: str, timeline: list[Line]) -> str:
    lines = [
        "# Starter scenario written by `failover init`; the SLOs are guesses to tune.",
        f"name: {name}",
        f"description: {_q(description)}",
        f"target: {target_file}",
        "load: {users: 2, rate: 20, probe_rate: 100, probe_timeout: 2s}",
        "steady_state: {warmup: 3s, check: 3s}",
        "timeline:",
        *(line.render() for line in timeline),
        "slos: {rto: 2s, availability: 99%, latency: {p95: 750ms}, bucket: 500ms, stable_for: 3s}  # guessed",
        "stop_conditions: [{availability_below: 50%, for: 10s}]",
        "observe_after: 6s",
    ]
    return "\n".join(lines) + "\n"


def _hop_lines(starter: Starter) -> list[str]:
    usable = [hop for hop in starter.hops if ":PORT" not in hop[1]]
    if not usable:
        lines = ["hops: {}  # none usable found in depends_on or the environment; add e.g. "
                 "lb->app-1: {upstream: \"app-1:9000\"}"]
    else:
        lines = ["hops:  # the harness inserts a Toxiproxy proxy on each (a generated compose override)"]
    for hop, upstream, comment in starter.hops:
        text = f"{hop}: {{upstream: {_q(upstream)}}}"
        lines.append("  " + Line(text if ":PORT" not in upstream else f"# {text}", comment).render())
    return lines


def _signal_lines(starter: Starter) -> list[str]:
    if not starter.signals:
        return ["# signals: {}  # no healthcheck with an HTTP URL on a published port; TTD from client errors only"]
    header = "signals:  # how the stack itself says a server is down (TTD)"
    return [header, *("  " + signal.render() for signal in starter.signals)]


def _latency_hop(starter: Starter) -> tuple[str, str]:
    usable = [hop for hop, upstream, _ in starter.hops if ":PORT" not in upstream]
    preferred = [hop for hop in usable if hop.split("->")[0] == starter.entry_service]
    if preferred:
        return preferred[0], ""
    if usable:
        return usable[0], "guessed: the first hop of the target"
    return "SERVICE->UPSTREAM", "guessed: no hop found; declare one in the target and name it here"


def _name(compose_file: Path, name: str | None) -> tuple[str, str]:
    if name:
        if not re.fullmatch(r"[a-z0-9-]+", name):
            raise BadInput(f"target name '{name}' is not [a-z0-9-]+", "use lowercase letters, digits and dashes")
        return name, ""
    folder = compose_file.resolve().parent.name
    slug = re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-") or "stack"
    return slug, f"guessed: from the folder name '{folder}' (or pass --name)"


def _entry(services: Mapping[str, ComposeService], upstream_hosts: set[str]) -> tuple[str | None, Line]:
    """The published port of the service nothing else depends on."""
    depended = {dependency for service in services.values() for dependency in service.depends_on} | upstream_hosts
    roots = [service for service in services.values() if service.name not in depended and _published(service)]
    if not roots:
        return None, Line('url: "http://127.0.0.1:PORT/"', "guessed: no service with a published port that "
                          "nothing depends on; write the URL clients call")
    root, port = roots[0], _published(roots[0])[0]
    others = f" (also candidates: {', '.join(s.name for s in roots[1:])})" if roots[1:] else ""
    return root.name, Line(
        f'url: "http://127.0.0.1:{port.host_port}/"',
        f"guessed: {root.name}'s published port, nothing depends on {root.name}{others}; add the path clients call",
    )


def _published(service: ComposeService) -> list[PortMapping]:
    return [port for port in service.ports if port.host_ip in _LOOPBACK_USABLE]


def _hops(services: Mapping[str, ComposeService]) -> list[tuple[str, str, str]]:
    """Candidate hops: `host:port` references in the environment (exact), then `depends_on` (port guessed)."""
    found: dict[str, tuple[str, str]] = {}
    for service in services.values():
        for key, value in service.environment.items():
            for host, port in _references(value, services):
                if host != service.name:
                    found.setdefault(f"{service.name}->{host}", (f"{host}:{port}", f"from {service.name}'s {key}"))
        for dependency in service.depends_on:
            if dependency in services:
                upstream = _depends_on_upstream(service.name, services[dependency])
                found.setdefault(f"{service.name}->{dependency}", upstream)
    return [(hop, upstream, comment) for hop, (upstream, comment) in found.items()]


def _references(value: str, services: Mapping[str, ComposeService]) -> list[tuple[str, int]]:
    names = "|".join(re.escape(name) for name in sorted(services, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.-])(?P<host>{names}):(?P<port>\d+)")
    return [(match["host"], int(match["port"])) for match in pattern.finditer(value)]


def _depends_on_upstream(downstream: str, upstream: ComposeService) -> tuple[str, str]:
    ports = [port.container_port for port in upstream.ports] or list(upstream.exposed) or _healthcheck_ports(upstream)
    if not ports:
        return f"{upstream.name}:PORT", f"guessed: {downstream} depends_on {upstream.name}; its port is unknown"
    return (
        f"{upstream.name}:{ports[0]}",
        f"guessed: {downstream} depends_on {upstream.name}; port {ports[0]} is {upstream.name}'s container port",
    )


def _healthcheck_ports(service: ComposeService) -> list[int]:
    return [int(match["port"]) for part in service.healthcheck for match in _LOCAL_URL.finditer(part) if match["port"]]


def _postgres_dsn(services: Mapping[str, ComposeService]) -> str | None:
    """A DSN for a PostgreSQL service (POSTGRES_* environment) published on the loopback."""
    for service in services.values():
        env, host_port = service.environment, service.host_port(5432)
        if "POSTGRES_PASSWORD" in env and host_port:
            user = env.get("POSTGRES_USER") or "postgres"
            database = env.get("POSTGRES_DB") or user
            return f"postgresql://{user}:{env['POSTGRES_PASSWORD']}@127.0.0.1:{host_port}/{database}"
    return None


def _signals(services: Mapping[str, ComposeService]) -> list[Line]:
    lines = []
    for service in services.values():
        for part in service.healthcheck:
            match = _LOCAL_URL.search(part)
            host_port = service.host_port(int(match["port"] or 80)) if match else None
            if match and host_port:
                url = f"http://127.0.0.1:{host_port}{match['path'] or '/'}"
                lines.append(Line(f"{service.name}: {{http: {_q(url)}}}", f"from {service.name}'s healthcheck"))
                break
    return lines


def _replica(services: Mapping[str, ComposeService]) -> tuple[str, str]:
    """A service with a sibling: same name stem (app-1, app-2) or same image and command; or replicas > 1."""
    for service in services.values():
        siblings = [other.name for other in services.values() if other is not service and _alike(service, other)]
        if siblings:
            return service.name, f"guessed: a replica, like {', '.join(siblings)}"
        if service.replicas > 1:
            return service.name, f"guessed: a service with {service.replicas} replicas"
    first = next(iter(services))
    return first, "guessed: no service with a sibling or replicas found; name a replica here"


def _alike(one: ComposeService, other: ComposeService) -> bool:
    stem_one, stem_other = _REPLICA_SUFFIX.sub("", one.name), _REPLICA_SUFFIX.sub("", other.name)
    if stem_one != one.name and stem_one == stem_other:
        return True
    return one.image is not None and (one.image, one.command) == (other.image, other.command)


def _service(path: Path, name: str, body: Mapping[str, Any]) -> ComposeService:
    healthcheck = (body.get("healthcheck") or {}).get("test") or ()
    deploy_replicas = (body.get("deploy") or {}).get("replicas")
    return ComposeService(
        name=name,
        image=body.get("image"),
        command=body.get("command"),
        environment=_environment(body.get("environment") or {}),
        ports=tuple(port for item in body.get("ports") or [] if (port := _port(path, name, item)) is not None),
        healthcheck=(healthcheck,) if isinstance(healthcheck, str) else tuple(str(part) for part in healthcheck),
        depends_on=tuple(body.get("depends_on") or ()),
        exposed=tuple(int(port) for item in body.get("expose") or [] if (port := str(item).split("/")[0]).isdigit()),
        replicas=int(deploy_replicas or body.get("scale") or 1),
    )


def _environment(value: Mapping[str, Any] | list[str]) -> dict[str, str]:
    if isinstance(value, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in value)
    return {key: "" if item is None else str(item) for key, item in value.items()}


def _port(path: Path, service: str, item: Any) -> PortMapping | None:
    """Short (`[ip:]host:container[/proto]`) or long syntax; unpublished ports and ranges are None."""
    if isinstance(item, Mapping):
        published = item.get("published")
        if published is None or not str(published).isdigit():
            return None
        return PortMapping(str(item.get("host_ip") or ""), int(published), int(item["target"]))
    text = str(item).split("/")[0]
    if ":" not in text or "-" in text:
        return None
    host_ip, host, container = text.rsplit(":", 2) if text.count(":") >= 2 else ("", *text.split(":"))
    if not (host.isdigit() and container.isdigit()):
        raise BadInput(f"{path}: service '{service}': port '{item}' is not understood", "write it as 127.0.0.1:8080:80")
    return PortMapping(host_ip.strip("[]"), int(host), int(container))


def _q(text: str) -> str:
    """A double-quoted YAML scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""Toxiproxy on a user's hops, through a generated Compose override (the user's files are never edited).

For each hop `downstream->upstream_host:upstream_port` the override adds:

- one small bridge network per hop (`failover-hop-<proxy>`, a fixed /27 carved
  from `subnet_pool`, `internal: true` so it never becomes a container's default
  route);
- one Toxiproxy service (`failover-toxiproxy`) attached to every hop network at
  a static address (the subnet's last host address) and to every network of the
  upstream services, so it reaches them by their usual DNS name; its API is
  published on 127.0.0.1:<toxiproxy_api_port>; its proxies come from
  `toxiproxy.json` in the run folder (bind-mounted read-only);
- on the downstream: the hop network (its own networks are listed again, and a
  service that had none gets `default` explicitly, so nothing it reached before
  is lost), `extra_hosts: ["<upstream_host>:<proxy address>"]` so its
  /etc/hosts sends it to the proxy, and `depends_on` the proxy.

The proxy listens on `<proxy address>:<upstream_port>` and forwards to
`<upstream_host>:<upstream_port>` by DNS. Only the downstream's /etc/hosts
changes: every other service still reaches the real upstream directly.

What this cannot cover (the harness cannot see these in a compose file):

- a downstream that dials an IP address, or a name other than the hop's
  upstream host (another alias, a fully qualified name);
- a downstream that resolves names with its own DNS client instead of
  /etc/hosts: nginx with a `resolver` directive and variables in
  `proxy_pass`, HAProxy `resolvers` sections, Node's `dns.resolve*`, ...;
- UDP, and anything that is not one TCP connection per request stream
  (Toxiproxy proxies TCP);
- an upstream outside the Compose project (a managed database, another project);
- a stack that is already running (`attach: true`) but was not brought up with
  this override: its downstreams must be recreated with both files
  (`docker compose -f user.yml -f override.yml up -d` recreates only those);
- telling the downstream's own replicas apart: they all share the hop's proxy,
  so a fault on the hop hits every replica of the downstream.

Detected and refused with an error: an unknown downstream or upstream service,
a downstream or upstream with `network_mode` (host, `service:`, `container:`,
none), a downstream that already maps the upstream host in `extra_hosts`, two
hops from one downstream to one host on different ports (one /etc/hosts line
per name), a hop from a service to itself, duplicate hops, and a project that
already has a service named `failover-toxiproxy`.

Two projects using the same `subnet_pool` cannot be up at the same time:
Docker refuses overlapping subnets; pass another pool.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml

from harness.errors import BadInput

TOXIPROXY_SERVICE = "failover-toxiproxy"
OVERRIDE_FILE = "docker-compose.failover.yml"
PROXIES_FILE = "toxiproxy.json"
DEFAULT_SUBNET_POOL = "10.213.0.0/16"
HOP_PREFIX = 27
_CONFIG_IN_CONTAINER = "/failover/toxiproxy.json"


@dataclass(frozen=True)
class HopInsertion:
    """One link the harness routes through Toxiproxy."""

    name: str  # "lb->app-1"
    downstream: str  # "lb"
    upstream_host: str  # "app-1"
    upstream_port: int  # 9000

    @classmethod
    def parse(cls, name: str, upstream: str) -> HopInsertion:
        """From a target file's `lb->app-1: {upstream: "app-1:9000"}`."""
        downstream, arrow, _ = name.partition("->")
        host, colon, port = upstream.rpartition(":")
        if not arrow or not downstream:
            raise BadInput(f"hop '{name}' is not 'downstream->upstream'", "write hops as lb->app-1")
        if not colon or not host or not port.isdigit():
            raise BadInput(f"hop '{name}': upstream '{upstream}' is not 'host:port'", 'write upstream: "app-1:9000"')
        return cls(name=name, downstream=downstream, upstream_host=host, upstream_port=int(port))

    @property
    def proxy_name(self) -> str:
        return self.name.replace("->", "-")

    @property
    def network(self) -> str:
        return f"failover-hop-{self.proxy_name}"


@dataclass(frozen=True)
class HopOverride:
    """The generated override: Toxiproxy's proxies and the compose mapping that wires them in."""

    proxies: tuple[dict[str, Any], ...]
    services: Mapping[str, dict[str, Any]]
    networks: Mapping[str, dict[str, Any]]
    version: str | None = None

    def compose(self, folder: Path) -> dict[str, Any]:
        """The override mapping; Toxiproxy's config is bind-mounted from `folder` (absolute: Compose
        resolves relative paths against the first compose file's folder, not the override's)."""
        services = {name: dict(body) for name, body in self.services.items()}
        config = (folder.resolve() / PROXIES_FILE).as_posix()
        services[TOXIPROXY_SERVICE]["volumes"] = [f"{config}:{_CONFIG_IN_CONTAINER}:ro"]
        mapping: dict[str, Any] = {"version": self.version} if self.version else {}
        return {**mapping, "services": services, "networks": dict(self.networks)}

    def write(self, folder: Path) -> list[Path]:
        """Write docker-compose.failover.yml and toxiproxy.json into `folder`; return their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        override, proxies = folder / OVERRIDE_FILE, folder / PROXIES_FILE
        proxies.write_text(json.dumps(list(self.proxies), indent=2) + "\n")
        header = "# Generated by failover-harness: Toxiproxy on the target's hops. Not to be edited.\n"
        override.write_text(header + yaml.safe_dump(self.compose(folder), sort_keys=False))
        return [override, proxies]


def hop_override(
    compose: Mapping[str, Any],
    hops: Sequence[HopInsertion],
    *,
    toxiproxy_image: str,
    toxiproxy_api_port: int,
    toxiproxy_binary_in_image: str = "toxiproxy-server",
    subnet_pool: str = DEFAULT_SUBNET_POOL,
) -> HopOverride:
    """The override that puts a Toxiproxy proxy on every hop of `compose` (parsed and interpolated)."""
    services = _services(compose)
    _check_hops(services, hops)
    addresses = _proxy_addresses(hops, subnet_pool)
    proxy_networks: dict[str, dict[str, Any]] = {}
    patches: dict[str, dict[str, Any]] = {}
    for hop in hops:
        upstream = _service_of_host(services, hop)
        for network in _networks(services[upstream]):
            proxy_networks.setdefault(network, {})
        proxy_networks[hop.network] = {"ipv4_address": addresses[hop.name]}
        _patch_downstream(patches, services[hop.downstream], hop, addresses[hop.name])
    toxiproxy = {
        "image": toxiproxy_image,
        "entrypoint": [toxiproxy_binary_in_image],
        "command": ["-host", "0.0.0.0", "-port", str(toxiproxy_api_port), "-config", _CONFIG_IN_CONTAINER],
        "ports": [f"127.0.0.1:{toxiproxy_api_port}:{toxiproxy_api_port}"],
        "networks": proxy_networks or {"default": {}},
    }
    networks = {hop.network: _hop_network(addresses[hop.name]) for hop in hops}
    proxies = tuple(
        {
            "name": hop.proxy_name,
            "listen": f"{addresses[hop.name]}:{hop.upstream_port}",
            "upstream": f"{hop.upstream_host}:{hop.upstream_port}",
            "enabled": True,
        }
        for hop in hops
    )
    version = compose.get("version")
    return HopOverride(
        proxies=proxies,
        services={TOXIPROXY_SERVICE: toxiproxy, **patches},
        networks=networks,
        version=str(version) if version is not None else None,
    )


def _services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    if not isinstance(services, Mapping) or not services:
        raise BadInput("the compose file has no 'services' mapping", "point compose_file at the stack's Compose file")
    if TOXIPROXY_SERVICE in services:
        raise BadInput(
            f"the compose file already has a service named '{TOXIPROXY_SERVICE}', the name the harness gives its proxy",
            "rename that service",
        )
    return {name: dict(body or {}) for name, body in services.items()}


def _check_hops(services: Mapping[str, dict[str, Any]], hops: Sequence[HopInsertion]) -> None:
    seen: dict[tuple[str, str], HopInsertion] = {}
    names: set[str] = set()
    for hop in hops:
        if hop.name in names:
            raise BadInput(f"hop '{hop.name}' is declared twice", "declare each hop once")
        names.add(hop.name)
        _require_service(services, hop.downstream, f"hop '{hop.name}': downstream")
        _refuse_network_mode(services[hop.downstream], hop, hop.downstream)
        upstream = _service_of_host(services, hop)
        _refuse_network_mode(services[upstream], hop, upstream)
        if upstream == hop.downstream:
            raise BadInput(f"hop '{hop.name}' goes from '{upstream}' to itself", "a hop links two services")
        _refuse_mapped_host(services[hop.downstream], hop)
        earlier = seen.setdefault((hop.downstream, hop.upstream_host), hop)
        if earlier is not hop:
            raise BadInput(
                f"hops '{earlier.name}' and '{hop.name}' both send '{hop.downstream}' to '{hop.upstream_host}'",
                "one /etc/hosts line per name: keep one hop per downstream and upstream host",
            )


def _require_service(services: Mapping[str, Any], name: str, what: str) -> None:
    if name not in services:
        raise _unknown(services, name, what)


def _unknown(services: Mapping[str, Any], name: str, what: str) -> BadInput:
    close = get_close_matches(name, list(services), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return BadInput(
        f"{what} '{name}' is not a service of the compose file",
        f"{hint}services: {', '.join(sorted(services))} (an upstream outside the project cannot be proxied)",
    )


def _service_of_host(services: Mapping[str, dict[str, Any]], hop: HopInsertion) -> str:
    """The service behind the upstream host: a service name or one of its network aliases."""
    if hop.upstream_host in services:
        return hop.upstream_host
    for name, body in services.items():
        networks = body.get("networks")
        if isinstance(networks, Mapping):
            for config in networks.values():
                if hop.upstream_host in ((config or {}).get("aliases") or []):
                    return name
    raise _unknown(services, hop.upstream_host, f"hop '{hop.name}': upstream host")


def _refuse_network_mode(body: Mapping[str, Any], hop: HopInsertion, service: str) -> None:
    mode = body.get("network_mode")
    if mode is not None:
        raise BadInput(
            f"hop '{hop.name}': service '{service}' has network_mode: {mode}; a proxy cannot be put on its hop",
            "hops need services on Compose networks (no network_mode)",
        )


def _refuse_mapped_host(body: Mapping[str, Any], hop: HopInsertion) -> None:
    extra = body.get("extra_hosts") or []
    names = extra.keys() if isinstance(extra, Mapping) else [str(line).split(":", 1)[0] for line in extra]
    if hop.upstream_host in names:
        raise BadInput(
            f"hop '{hop.name}': '{hop.downstream}' already maps '{hop.upstream_host}' in extra_hosts",
            "the harness routes the hop with that same extra_hosts name: remove it or drop the hop",
        )


def _networks(body: Mapping[str, Any]) -> list[str]:
    """The networks a service is on; a service that lists none is on `default`."""
    networks = body.get("networks")
    if not networks:
        return ["default"]
    return list(networks)


def _proxy_addresses(hops: Sequence[HopInsertion], subnet_pool: str) -> dict[str, str]:
    """Each hop's proxy address: the last host address of the hop's own /27 in the pool."""
    try:
        pool = ipaddress.IPv4Network(subnet_pool)
    except ValueError as error:
        tip = "use e.g. 10.213.0.0/16"
        raise BadInput(f"subnet pool '{subnet_pool}' is not an IPv4 network: {error}", tip) from error
    if pool.prefixlen > HOP_PREFIX:
        raise BadInput(f"subnet pool '{subnet_pool}' is smaller than one /{HOP_PREFIX}", "use e.g. 10.213.0.0/16")
    subnets = pool.subnets(new_prefix=HOP_PREFIX)
    addresses: dict[str, str] = {}
    for hop in hops:
        subnet = next(subnets, None)
        if subnet is None:
            raise BadInput(f"subnet pool '{subnet_pool}' has room for fewer than {len(hops)} hops", "use a larger pool")
        addresses[hop.name] = str(subnet.broadcast_address - 1)
    return addresses


def _hop_network(address: str) -> dict[str, Any]:
    subnet = ipaddress.IPv4Network(f"{address}/{HOP_PREFIX}", strict=False)
    return {"driver": "bridge", "internal": True, "ipam": {"config": [{"subnet": str(subnet)}]}}


def _patch_downstream(
    patches: dict[str, dict[str, Any]], body: Mapping[str, Any], hop: HopInsertion, address: str
) -> None:
    patch = patches.setdefault(
        hop.downstream,
        {
            "networks": {network: {} for network in _networks(body)},
            "extra_hosts": [],
            "depends_on": [TOXIPROXY_SERVICE],
        },
    )
    patch["networks"][hop.network] = {}
    patch["extra_hosts"].append(f"{hop.upstream_host}:{address}")

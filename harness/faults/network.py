"""Faults on a Toxiproxy hop: latency (+jitter), timeout (black hole), partition (proxy disabled)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import NotFound
from toxiproxy.proxy import Proxy
from toxiproxy.server import Toxiproxy

from harness.errors import InfrastructureError
from harness.faults.base import FaultContext, register
from harness.scenario import Fault as FaultSpec
from harness.scenario import normalize_hop

TOXIC_PREFIX = "failover-"
"""Every toxic the harness adds is named with this prefix, so `heal` can find leftovers."""


def toxiproxy_api(url: str) -> Toxiproxy:
    """The toxiproxy-python client pointed at `url` (its API consumer is process-global)."""
    parts = urlsplit(url)
    APIConsumer.host, APIConsumer.port = parts.hostname or "127.0.0.1", parts.port or 8474
    return Toxiproxy()


def proxy(url: str, name: str) -> Proxy:
    try:
        found = toxiproxy_api(url).get_proxy(name)
    except OSError as error:
        raise InfrastructureError(f"Toxiproxy at {url} is not reachable: {error}", "is the stack up?") from error
    if found is None:
        raise InfrastructureError(f"Toxiproxy has no proxy '{name}'", "check the hop name against the stack's proxies")
    return found


@dataclass
class Toxic:
    """A toxic on the response stream of a hop (what the caller of that hop waits for)."""

    toxiproxy_url: str
    hop: str
    kind: str
    attributes: dict[str, int]

    @property
    def toxic_name(self) -> str:
        return f"{TOXIC_PREFIX}{self.kind}"

    def inject(self) -> None:
        proxy(self.toxiproxy_url, self.hop).add_toxic(
            type=self.kind, name=self.toxic_name, stream="downstream", attributes=self.attributes
        )

    def revert(self) -> None:
        try:
            proxy(self.toxiproxy_url, self.hop).destroy_toxic(self.toxic_name)
        except NotFound:
            pass  # already gone: reverting is idempotent

    def describe(self) -> str:
        settings = " ".join(f"{key}={value}ms" for key, value in self.attributes.items())
        return f"{self.kind} {settings} on {self.hop}"


@dataclass
class Partition:
    """The hop disabled: connections are refused and open ones dropped."""

    toxiproxy_url: str
    hop: str

    def inject(self) -> None:
        proxy(self.toxiproxy_url, self.hop).disable()

    def revert(self) -> None:
        proxy(self.toxiproxy_url, self.hop).enable()

    def describe(self) -> str:
        return f"partition {self.hop}"


def _ms(seconds: float | None) -> int:
    return round((seconds or 0.0) * 1000)


@register("latency")
def _latency(spec: FaultSpec, context: FaultContext) -> Toxic:
    attributes = {"latency": _ms(spec.latency), "jitter": _ms(spec.jitter)}
    return Toxic(context.toxiproxy_url, normalize_hop(spec.target), "latency", attributes)


@register("timeout")
def _timeout(spec: FaultSpec, context: FaultContext) -> Toxic:
    return Toxic(context.toxiproxy_url, normalize_hop(spec.target), "timeout", {"timeout": _ms(spec.timeout)})


@register("partition")
def _partition(spec: FaultSpec, context: FaultContext) -> Partition:
    return Partition(context.toxiproxy_url, normalize_hop(spec.target))

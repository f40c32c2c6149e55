"""Faults on a Toxiproxy hop: latency (+jitter), timeout (black hole), partition (proxy disabled)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.errors import InfrastructureError
from harness.faults.base import FaultContext, register
from harness.faults.toxiproxy_client import NotFound, Proxy, ToxicExists, ToxiproxyClient
from harness.scenario import Fault as FaultSpec

TOXIC_PREFIX = "failover-"
"""Every toxic the harness adds is named with this prefix, so `heal` can find leftovers."""


def toxiproxy_api(url: str) -> ToxiproxyClient:
    """A client of the Toxiproxy API at `url` (every call with a timeout)."""
    parts = urlsplit(url)
    return ToxiproxyClient(f"http://{parts.hostname or '127.0.0.1'}:{parts.port or 8474}")


def proxy(url: str, name: str) -> Proxy:
    try:
        return toxiproxy_api(url).get_proxy(name)
    except NotFound:
        raise InfrastructureError(
            f"Toxiproxy has no proxy '{name}'", "check the hop name against the stack's proxies"
        ) from None


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
        """Add the toxic; one of the same name (left by a crashed run) is replaced."""
        target = proxy(self.toxiproxy_url, self.hop)
        try:
            target.add_toxic(self.toxic_name, self.kind, self.attributes)
        except ToxicExists:
            target.destroy_toxic(self.toxic_name)
            target.add_toxic(self.toxic_name, self.kind, self.attributes)

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
    return Toxic(context.toxiproxy_url, context.proxy(spec.target), "latency", attributes)


@register("timeout")
def _timeout(spec: FaultSpec, context: FaultContext) -> Toxic:
    return Toxic(context.toxiproxy_url, context.proxy(spec.target), "timeout", {"timeout": _ms(spec.timeout)})


@register("partition")
def _partition(spec: FaultSpec, context: FaultContext) -> Partition:
    return Partition(context.toxiproxy_url, context.proxy(spec.target))

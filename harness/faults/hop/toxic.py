"""A toxic on a Toxiproxy hop, and the API helpers every hop fault uses.

A toxic acts on connections already open as well as new ones: a hop fault
starts the moment the toxic is added, not when the next connection opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.errors import InfrastructureError
from harness.faults.toxiproxy_client import NotFound, Proxy, ToxicExists, ToxiproxyClient

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


def ms(seconds: float | None) -> int:
    return round((seconds or 0.0) * 1000)


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

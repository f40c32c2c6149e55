"""A toxic on a Toxiproxy hop, the parameters every toxic takes, and the API helpers hop faults use.

Two things about toxics decide what a hop fault measures:
- A toxic acts on connections already open as well as new ones: the fault starts the moment
  the toxic is added, not when the next connection opens (a pooled keep-alive connection is
  hit at once).
- `toxicity` is drawn once per connection, when it opens (or, for open ones, when the toxic is
  added): at 30% about a third of connections suffer the whole fault and the rest none. With
  keep-alive pools few and long-lived connections decide, so the share of requests hit can be
  far from the toxicity, and recovery depends on when the client drops an affected connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from harness.errors import InfrastructureError
from harness.faults.base import FaultParams
from harness.faults.toxiproxy_client import (
    NotFound,
    Proxy,
    ToxicExists,
    ToxiproxyClient,
)
from harness.units import Fraction

TOXIC_PREFIX = "failover-"
"""Every toxic the harness adds is named with this prefix, so `heal` can find leftovers."""


class ToxicParams(FaultParams):
    """What every toxic takes besides its own attributes."""

    stream: Literal["downstream", "upstream"] = "downstream"
    """downstream: what the hop's caller receives (responses); upstream: what it sends (requests)."""
    toxicity: Fraction = 1.0
    """Share of connections the toxic applies to, drawn per connection."""


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


def _unit(kind: str, attribute: str) -> str:
    """The unit Toxiproxy takes an attribute in (as its API documents), for one-line descriptions."""
    if attribute in ("latency", "jitter", "timeout") or (kind, attribute) == ("slow_close", "delay"):
        return "ms"
    return {"rate": "KB/s", "delay": "us"}.get(attribute, "" if attribute == "toxicity" else "B")


def ms(seconds: float | None) -> int:
    return round((seconds or 0.0) * 1000)


@dataclass
class Toxic:
    """One toxic of `kind` with Toxiproxy's `attributes` on a hop's `stream`."""

    toxiproxy_url: str
    hop: str
    kind: str
    attributes: dict[str, int]
    stream: str = "downstream"
    toxicity: float = 1.0

    @classmethod
    def of(cls, params: ToxicParams, hop: str, kind: str, attributes: dict[str, int], url: str) -> Toxic:
        return cls(url, hop, kind, attributes, params.stream, params.toxicity)

    @property
    def toxic_name(self) -> str:
        return f"{TOXIC_PREFIX}{self.kind}-{self.stream}"

    def inject(self) -> None:
        """Add the toxic; one of the same name (left by a crashed run) is replaced."""
        target = proxy(self.toxiproxy_url, self.hop)
        try:
            self._add(target)
        except ToxicExists:
            target.destroy_toxic(self.toxic_name)
            self._add(target)

    def _add(self, target: Proxy) -> None:
        target.add_toxic(self.toxic_name, self.kind, self.attributes, self.stream, self.toxicity)

    def revert(self) -> None:
        try:
            proxy(self.toxiproxy_url, self.hop).destroy_toxic(self.toxic_name)
        except NotFound:
            pass  # already gone: reverting is idempotent

    def describe(self) -> str:
        settings = " ".join(f"{key}={value}{_unit(self.kind, key)}" for key, value in self.attributes.items())
        share = f", {self.toxicity:.0%} of connections" if self.toxicity < 1 else ""
        return f"{self.kind} {settings} on {self.hop} ({self.stream}{share})"

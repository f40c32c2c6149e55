"""A small Toxiproxy API client in which every call has a timeout.

The toxiproxy-python client calls `requests` without one, so a paused or
wedged Toxiproxy hangs a revert forever. Every failure (refused, timed out,
an unexpected status) becomes an `InfrastructureError` naming the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import InfrastructureError

TIMEOUT_S = (2.0, 5.0)
"""(connect, read) seconds for one API call: Toxiproxy answers in milliseconds when it is alive."""


class ToxicExists(InfrastructureError):
    """A toxic of that name is already on the proxy (409)."""


class NotFound(InfrastructureError):
    """No such proxy or toxic (404)."""


@dataclass
class ToxiproxyClient:
    url: str
    """Base URL of the API, e.g. http://127.0.0.1:8474."""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; the decoded JSON answer (None when there is none)."""
        import requests  # here: a module that only declares faults need not pay for its import

        shown = f"{method} {self.url}{path}"
        try:
            response = requests.request(method, f"{self.url}{path}", json=body, timeout=TIMEOUT_S)
        except requests.Timeout as error:
            raise InfrastructureError(
                f"Toxiproxy did not answer `{shown}` within {TIMEOUT_S[1]:g}s",
                "is toxiproxy-server paused or overloaded? `failover heal` reverts what is left",
            ) from error
        except requests.RequestException as error:
            raise InfrastructureError(f"Toxiproxy at {self.url} is not reachable: {error}", "is the stack up?") from error
        if response.status_code == 404:
            raise NotFound(f"Toxiproxy: `{shown}`: not found ({response.text.strip()})")
        if response.status_code == 409:
            raise ToxicExists(f"Toxiproxy: `{shown}`: already exists ({response.text.strip()})")
        if response.status_code >= 300:
            raise InfrastructureError(f"Toxiproxy: `{shown}` failed ({response.status_code}: {response.text.strip()})")
        return response.json() if response.content else None

    def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy(self, fields) for name, fields in self.call("GET", "/proxies").items()}

    def get_proxy(self, name: str) -> Proxy:
        return Proxy(self, self.call("GET", f"/proxies/{name}"))

    def create(self, upstream: str, name: str, listen: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy(self, self.call("POST", "/proxies", body))


class Proxy:
    """One proxy as Toxiproxy last reported it."""

    def __init__(self, client: ToxiproxyClient, fields: dict[str, Any]) -> None:
        self.client = client
        self.name: str = fields["name"]
        self.enabled: bool = fields.get("enabled", True)
        self._toxics: list[dict[str, Any]] = fields.get("toxics") or []

    def toxics(self) -> dict[str, dict[str, Any]]:
        """Toxics by name, as of the last read."""
        return {toxic["name"]: toxic for toxic in self._toxics}

    def add_toxic(
        self, name: str, kind: str, attributes: dict[str, int], stream: str = "downstream", toxicity: float = 1.0
    ) -> None:
        body = {"name": name, "type": kind, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        self.client.call("POST", f"/proxies/{self.name}/toxics", body)

    def destroy_toxic(self, name: str) -> None:
        self.client.call("DELETE", f"/proxies/{self.name}/toxics/{name}")

    def set_enabled(self, enabled: bool) -> None:
        self.client.call("POST", f"/proxies/{self.name}", {"enabled": enabled})
        self.enabled = enabled

    def disable(self) -> None:
        self.set_enabled(False)

    def enable(self) -> None:
        self.set_enabled(True)

    def destroy(self) -> None:
        self.client.call("DELETE", f"/proxies/{self.name}")

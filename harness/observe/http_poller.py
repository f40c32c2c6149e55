"""A server's own health endpoint, polled: DOWN when it does not answer 2xx in time (TTD)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from harness.observe.state_watch import PollingWatch

POLL_HZ = 20.0
TIMEOUT_S = 0.2
"""An answer slower than this counts as down: a hung server is down, not slow."""


def http_state(client: httpx.Client, url: str, timeout_s: float = TIMEOUT_S) -> str:
    try:
        response = client.get(url, timeout=timeout_s)
    except httpx.HTTPError as error:
        return f"DOWN ({type(error).__name__})"
    return "UP" if 200 <= response.status_code < 300 else f"DOWN (HTTP {response.status_code})"


class HttpPoller(PollingWatch):
    """Polls every server's URL at `hz`; records each change of state."""

    def __init__(self, urls: Mapping[str, str], hz: float = POLL_HZ) -> None:
        super().__init__("http-poller", hz)
        self.urls = dict(urls)

    def _read(self, client: httpx.Client) -> dict[str, str]:
        return {server: http_state(client, url) for server, url in self.urls.items()}

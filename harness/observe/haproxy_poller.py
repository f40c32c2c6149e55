"""Polls HAProxy's view of its servers in the background: the stack's own failure signal (TTD)."""

from __future__ import annotations

import httpx

from harness.observe.haproxy import BACKEND, server_states
from harness.observe.state_watch import PollingWatch

POLL_HZ = 20.0


class HAProxyPoller(PollingWatch):
    """Records (t, server, state) whenever a server of `backend` changes state, plus the first observation."""

    def __init__(self, stats_url: str, backend: str = BACKEND, hz: float = POLL_HZ) -> None:
        super().__init__("haproxy-poller", hz)
        self.stats_url = stats_url
        self.backend = backend

    def _read(self, client: httpx.Client) -> dict[str, str]:
        try:
            return server_states(self.stats_url, self.backend, timeout_s=self.interval_s * 4, client=client)
        except (httpx.HTTPError, ValueError):
            return {}  # HAProxy itself unreachable: no signal this round

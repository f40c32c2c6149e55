"""Polls HAProxy's view of its servers in the background: the stack's own failure signal (TTD)."""

from __future__ import annotations

import time

import httpx

from harness.observe.haproxy import BACKEND, server_states
from harness.observe.state_watch import StateWatch

POLL_HZ = 20.0


class HAProxyPoller(StateWatch):
    """Records (t, server, state) whenever a server of `backend` changes state, plus the first observation."""

    def __init__(self, stats_url: str, backend: str = BACKEND, hz: float = POLL_HZ) -> None:
        super().__init__("haproxy-poller")
        self.stats_url = stats_url
        self.backend = backend
        self.interval_s = 1.0 / hz

    def _watch(self) -> None:
        with httpx.Client() as client:
            self._poll(client)

    def _poll(self, client: httpx.Client) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            now = time.time()
            try:
                states = server_states(self.stats_url, self.backend, timeout_s=self.interval_s * 4, client=client)
            except (httpx.HTTPError, ValueError):
                states = {}  # HAProxy itself unreachable: no signal this round
            for server, state in states.items():
                self._record(now, server, state)
            self._listen()
            self._stop.wait(max(0.0, self.interval_s - (time.perf_counter() - started)))

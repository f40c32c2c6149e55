"""Polls HAProxy's view of its servers in the background: the stack's own failure signal (TTD)."""

from __future__ import annotations

import threading
import time

import httpx

from harness.observe.haproxy import server_states

POLL_HZ = 20.0


class HAProxyPoller:
    """Records (t, server, state) whenever a server's state changes, plus the first observation."""

    def __init__(self, stats_url: str, hz: float = POLL_HZ) -> None:
        self.stats_url = stats_url
        self.interval_s = 1.0 / hz
        self._rows: list[dict[str, object]] = []
        self._last: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="haproxy-poller", daemon=True)

    def __enter__(self) -> HAProxyPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def rows(self) -> list[dict[str, object]]:
        return list(self._rows)

    def _run(self) -> None:
        with httpx.Client() as client:
            self._poll(client)

    def _poll(self, client: httpx.Client) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            now = time.time()
            try:
                states = server_states(self.stats_url, timeout_s=self.interval_s * 4, client=client)
            except (httpx.HTTPError, ValueError):
                states = {}  # HAProxy itself unreachable: no signal this round
            for server, state in states.items():
                if self._last.get(server) != state:
                    self._last[server] = state
                    self._rows.append({"t": now, "server": server, "state": state})
            self._stop.wait(max(0.0, self.interval_s - (time.perf_counter() - started)))

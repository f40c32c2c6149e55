"""A Prometheus instant query per server: DOWN while its value is 0 or it has no sample (TTD).

The signal is only as fresh as Prometheus's scrape interval: TTD read from it
includes up to one interval of staleness.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from harness.observe.state_watch import PollingWatch

POLL_HZ = 5.0


def prometheus_state(client: httpx.Client, url: str, query: str, timeout_s: float = 1.0) -> str:
    try:
        response = client.get(f"{url}/api/v1/query", params={"query": query}, timeout=timeout_s)
        response.raise_for_status()
        results = response.json()["data"]["result"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return "UNKNOWN"  # Prometheus itself unreachable: no signal this round
    values = [float(sample["value"][1]) for sample in results]
    return "UP" if values and all(value != 0 for value in values) else "DOWN"


class PrometheusPoller(PollingWatch):
    def __init__(self, queries: Mapping[str, tuple[str, str]], hz: float = POLL_HZ) -> None:
        """`queries`: server -> (Prometheus URL, instant query)."""
        super().__init__("prometheus-poller", hz)
        self.queries = dict(queries)

    def _read(self, client: httpx.Client) -> dict[str, str]:
        states = {server: prometheus_state(client, url, query) for server, (url, query) in self.queries.items()}
        return {server: state for server, state in states.items() if state != "UNKNOWN"}

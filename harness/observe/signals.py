"""A target's down-signals as watchers: one per source, grouped so that servers sharing
an HAProxy stats page or a set of Sentinels share one poller.

Adding a signal kind: a `StateWatch` module, a field on `observe.sources.Signal`,
and one entry in `_BUILDERS`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

import httpx

from harness.observe.haproxy import server_states
from harness.observe.haproxy_poller import HAProxyPoller
from harness.observe.http_poller import HttpPoller, http_state
from harness.observe.prometheus_poller import PrometheusPoller, prometheus_state
from harness.observe.sentinel_watch import SentinelWatch
from harness.observe.sources import Signal
from harness.observe.state_watch import StateWatch


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def _haproxy(signals: Mapping[str, Signal]) -> list[StateWatch]:
    pages = {(s.haproxy.stats_url, s.haproxy.backend) for s in signals.values() if s.haproxy}
    return [HAProxyPoller(url, backend) for url, backend in sorted(pages)]


def _sentinel(signals: Mapping[str, Signal]) -> list[StateWatch]:
    groups: dict[tuple[str, ...], dict[int, str]] = defaultdict(dict)
    for server, signal in signals.items():
        assert signal.sentinel is not None
        groups[tuple(signal.sentinel.sentinels)][signal.sentinel.port] = server
    return [SentinelWatch([_address(a) for a in addresses], ports) for addresses, ports in groups.items()]


def _http(signals: Mapping[str, Signal]) -> list[StateWatch]:
    return [HttpPoller({server: signal.http for server, signal in signals.items() if signal.http})]


def _prometheus(signals: Mapping[str, Signal]) -> list[StateWatch]:
    queries = {server: (s.prometheus.url, s.prometheus.query) for server, s in signals.items() if s.prometheus}
    return [PrometheusPoller(queries)]


_BUILDERS: dict[str, Callable[[Mapping[str, Signal]], list[StateWatch]]] = {
    "haproxy": _haproxy,
    "sentinel": _sentinel,
    "http": _http,
    "prometheus": _prometheus,
}


def watchers(signals: Mapping[str, Signal]) -> list[StateWatch]:
    """The watchers that record every declared server's state changes."""
    by_kind: dict[str, dict[str, Signal]] = defaultdict(dict)
    for server, signal in signals.items():
        by_kind[signal.kind][server] = signal
    return [watch for kind, group in by_kind.items() for watch in _BUILDERS[kind](group)]


def current_states(signals: Mapping[str, Signal]) -> dict[str, str]:
    """One reading of every server whose signal can be polled (Sentinel's are events: not read here)."""
    states: dict[str, str] = {}
    with httpx.Client() as client:
        for server, signal in signals.items():
            if signal.http:
                states[server] = http_state(client, signal.http, timeout_s=1.0)
            elif signal.haproxy:
                states[server] = _haproxy_state(client, signal, server)
            elif signal.prometheus:
                states[server] = prometheus_state(client, signal.prometheus.url, signal.prometheus.query)
    return states


def _haproxy_state(client: httpx.Client, signal: Signal, server: str) -> str:
    assert signal.haproxy is not None
    try:
        return server_states(signal.haproxy.stats_url, signal.haproxy.backend, client=client).get(server, "MISSING")
    except (httpx.HTTPError, ValueError) as error:
        return f"DOWN ({type(error).__name__})"

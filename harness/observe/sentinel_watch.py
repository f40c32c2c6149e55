"""Watches the Sentinels' events: the store's own failure signal (TTD for a store fault).

Each Sentinel publishes `+odown` when it agrees with a quorum that the primary
is down, and `-odown` when it is back. The watch subscribes to every Sentinel
(one of them may be the fault's target) and records a change the first time
any of them reports it, as rows shaped like `HAProxyPoller`'s: the store's
servers are `DOWN` from `+odown` to `-odown` (a replica: `+sdown` to
`-sdown`), `UP` otherwise. A server is recognised by the port it is announced
with, which the target declares.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import redis
from redis.client import PubSub

from harness.observe.state_watch import StateWatch

EVENTS = {("+odown", "master"): "DOWN", ("-odown", "master"): "UP", ("+sdown", "slave"): "DOWN", ("-sdown", "slave"): "UP"}
"""(channel, kind of instance) -> state. A primary is DOWN once a quorum agrees (odown); a replica
as soon as one Sentinel sees it (sdown). A demoted primary that comes back returns as a replica."""
_POLL_S = 0.02


class SentinelWatch(StateWatch):
    def __init__(self, sentinels: Sequence[tuple[str, int]], servers_by_port: Mapping[int, str]) -> None:
        super().__init__("sentinel-watch")
        self.sentinels = list(sentinels)
        self.servers_by_port = dict(servers_by_port)

    def __enter__(self) -> SentinelWatch:
        for server in self.servers_by_port.values():
            self._record(time.time(), server, "UP")
        return super().__enter__()

    def _watch(self) -> None:
        subscriptions = [self._subscribe(host, port) for host, port in self.sentinels]
        self._listen()
        try:
            while not self._stop.is_set():
                for subscription in subscriptions:
                    self._read(subscription)
                self._stop.wait(_POLL_S)
        finally:
            for subscription in subscriptions:
                if subscription is not None:
                    subscription.close()

    @staticmethod
    def _subscribe(host: str, port: int) -> PubSub | None:
        try:
            subscription = redis.Redis(host=host, port=port, socket_timeout=2.0).pubsub(ignore_subscribe_messages=True)
            subscription.subscribe(*{channel for channel, _ in EVENTS})
        except redis.RedisError:
            return None  # a Sentinel that is down says nothing; the others still do
        return subscription

    def _read(self, subscription: PubSub | None) -> None:
        if subscription is None:
            return
        try:
            while message := subscription.get_message(timeout=0):
                self._on_event(message["channel"], message["data"])
        except redis.RedisError:
            pass  # that Sentinel went away mid-run; the others still report

    def _on_event(self, channel: bytes, data: bytes) -> None:
        """Data: '<master|slave> <name> <ip> <port> ...' (e.g. 'master predictions 127.0.0.1 16379 #quorum 2/2')."""
        fields = data.decode(errors="replace").split()
        state = EVENTS.get((channel.decode(), fields[0] if fields else ""))
        if state is None or len(fields) < 4 or not fields[3].isdigit():
            return
        server = self.servers_by_port.get(int(fields[3]))
        if server is not None:  # else not a server of this target
            self._record(time.time(), server, state)

"""Prediction store: the Redis primary, found through Sentinel.

The primary's address comes from the Sentinels (asked in turn) and is mapped
through REDIS_ROUTES, because Toxiproxy sits between this server and Redis.
A write that fails with a connection error, a timeout or READONLY (the node
was demoted) triggers one rediscovery and one retry; anything else, or a
second failure, is reported as StoreError so the caller can answer 503.
`check()` runs periodically (see app.py), so a primary change reported by the
Sentinels is picked up even while writes still succeed on the old node.
When no Sentinel answers, the last known primary stays in use: losing the
Sentinels alone must not take a healthy primary out of service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, ReadOnlyError, RedisError, TimeoutError

from .config import Address

log = logging.getLogger(__name__)

REDISCOVER_ON = (ConnectionError, TimeoutError, ReadOnlyError)


class StoreError(Exception):
    """The primary could not be found or did not acknowledge a command."""


class DiscoveryError(StoreError):
    """No Sentinel reported the primary."""


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _connect(address: Address, timeout: float) -> Redis:
    # Retries are ours (rediscover, then retry once); redis-py's default
    # retries with backoff would hide a dead primary behind seconds of waiting.
    return Redis(
        host=address.host,
        port=address.port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        lib_name=None,
        lib_version=None,
    )


class PredictionStore:
    def __init__(
        self,
        sentinels: Sequence[Address],
        master: str,
        routes: Mapping[Address, Address],
        timeout: float,
    ) -> None:
        self._sentinels = [(address, _connect(address, timeout)) for address in sentinels]
        self._master = master
        self._routes = routes
        self._timeout = timeout
        self._reported: Address | None = None
        self._client: Redis | None = None
        self._lock = asyncio.Lock()
        self._discovery_error: str | None = None

    @property
    def primary(self) -> str:
        """The primary in use, as reported -> as connected."""
        if self._reported is None:
            return "unknown"
        return f"{self._reported} -> {self.route(self._reported)}"

    def route(self, reported: Address) -> Address:
        if not self._routes:
            return reported
        if reported not in self._routes:
            raise StoreError(f"primary {reported} reported by Sentinel has no REDIS_ROUTES entry")
        return self._routes[reported]

    async def discover(self) -> Address:
        """Ask each Sentinel in turn; the first one that answers wins and is
        asked first next time."""
        errors = []
        for index, (address, sentinel) in enumerate(self._sentinels):
            try:
                reply = await sentinel.execute_command("SENTINEL", "get-master-addr-by-name", self._master)
            except RedisError as exc:
                errors.append(f"{address}: {_describe(exc)}")
                continue
            if not reply:
                errors.append(f"{address}: does not know master {self._master!r}")
                continue
            self._sentinels.insert(0, self._sentinels.pop(index))
            return Address(reply[0], int(reply[1]))
        raise DiscoveryError(f"no Sentinel reported primary {self._master!r}: {'; '.join(errors)}")

    async def _refresh(self) -> Redis:
        """Rediscover the primary; switch the client when it moved."""
        async with self._lock:
            reported = await self.discover()
            if reported != self._reported or self._client is None:
                actual = self.route(reported)
                old, self._client, self._reported = self._client, _connect(actual, self._timeout), reported
                log.info("primary for %r is %s (connecting to %s)", self._master, reported, actual)
                if old is not None:
                    with suppress(RedisError, OSError):
                        await old.aclose()
            return self._client

    async def rediscover(self) -> Redis:
        """_refresh(), or the current client when no Sentinel answers."""
        try:
            client = await self._refresh()
        except DiscoveryError as exc:
            if self._client is None:
                raise
            if self._discovery_error is None:
                log.warning("%s; keeping primary %s", exc, self.primary)
            self._discovery_error = str(exc)
            return self._client
        if self._discovery_error is not None:
            log.info("Sentinels answer again")
            self._discovery_error = None
        return client

    async def write(self, key: str, value: str) -> None:
        """SET key value on the primary; returns once the primary acknowledged it."""
        client = self._client if self._client is not None else await self.rediscover()
        try:
            await client.set(key, value)
            return
        except REDISCOVER_ON as exc:
            log.debug("write to %s failed (%s), rediscovering", self.primary, _describe(exc))
        except RedisError as exc:
            raise StoreError(f"write to {self.primary} failed: {_describe(exc)}") from exc
        client = await self.rediscover()
        try:
            await client.set(key, value)
        except RedisError as exc:
            raise StoreError(f"write to {self.primary} failed after rediscovery: {_describe(exc)}") from exc

    async def check(self) -> None:
        """Rediscover and PING the primary; raises StoreError when unreachable."""
        client = await self.rediscover()
        try:
            await client.ping()
        except RedisError as exc:
            raise StoreError(f"primary {self.primary} unreachable: {_describe(exc)}") from exc

    async def close(self) -> None:
        clients = [sentinel for _, sentinel in self._sentinels]
        if self._client is not None:
            clients.append(self._client)
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)

"""Reading a target's prediction store back after a run: which acknowledged writes are gone (RPO).

The stack answers a prediction only after its store acknowledged the record,
so every successful request is an acknowledged write. After recovery the
harness asks the store, by request id, whether each one is still there.

Adding a store kind: a class with `missing(request_ids)`, a field on
`observe.sources.Store`, and one entry in `_CHECKERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import httpx
import redis

from harness.errors import InfrastructureError
from harness.observe.sources import (
    HttpStore,
    RedisStore,
    SentinelStore,
    SqlStore,
    Store,
)

_BATCH = 2000
_TIMEOUT_S = 5.0


class LostWriteChecker(Protocol):
    def missing(self, request_ids: Sequence[str]) -> set[str]:
        """The request ids whose record is not in the store (raises InfrastructureError when unreadable)."""


class RedisChecker:
    def __init__(self, config: RedisStore) -> None:
        self.config = config

    def missing(self, request_ids: Sequence[str]) -> set[str]:
        return _missing_keys(redis.Redis.from_url(self.config.url, socket_timeout=_TIMEOUT_S), self.config.key, request_ids)


class SentinelChecker:
    """Reads the primary the Sentinels agree on now (after a failover, the promoted replica)."""

    def __init__(self, config: SentinelStore) -> None:
        self.config = config

    def missing(self, request_ids: Sequence[str]) -> set[str]:
        return _missing_keys(self._primary(), self.config.key, request_ids)

    def _primary(self) -> redis.Redis:
        errors = []
        for address in self.config.sentinels:
            host, _, port = address.rpartition(":")
            try:
                with redis.Redis(host=host, port=int(port), socket_timeout=_TIMEOUT_S) as sentinel:
                    reply = sentinel.execute_command("SENTINEL", "get-master-addr-by-name", self.config.master)
            except redis.RedisError as error:
                errors.append(f"{address}: {error}")
                continue
            if reply:
                # Announced by service name (compose) or loopback (local); ports are published as they are.
                return redis.Redis(host=host, port=int(reply[1]), socket_timeout=_TIMEOUT_S)
            errors.append(f"{address}: does not know {self.config.master!r}")
        raise InfrastructureError(f"no Sentinel named the store's primary: {'; '.join(errors)}", "is the stack up?")


class HttpChecker:
    """GET per request id: 200 present, 404 missing, anything else unreadable."""

    def __init__(self, config: HttpStore) -> None:
        self.config = config

    def missing(self, request_ids: Sequence[str]) -> set[str]:
        lost: set[str] = set()
        with httpx.Client(timeout=_TIMEOUT_S) as client:
            for request_id in request_ids:
                url = self.config.url.replace("{request_id}", request_id)
                try:
                    status = client.get(url).status_code
                except httpx.HTTPError as error:
                    raise InfrastructureError(f"could not read the store back at {url}: {error}") from error
                if status == 404:
                    lost.add(request_id)
                elif not 200 <= status < 300:
                    raise InfrastructureError(f"the store answered HTTP {status} for {url}", "200 = present, 404 = missing")
        return lost


class SqlChecker:
    """One query per request id, in one transaction: a count > 0 is present."""

    def __init__(self, config: SqlStore) -> None:
        self.config = config

    def missing(self, request_ids: Sequence[str]) -> set[str]:
        import psycopg

        lost: set[str] = set()
        try:
            with psycopg.connect(self.config.dsn, connect_timeout=int(_TIMEOUT_S)) as connection:
                with connection.cursor() as cursor:
                    for request_id in request_ids:
                        row = cursor.execute(self.config.query, (request_id,)).fetchone()
                        if not row or not row[0]:
                            lost.add(request_id)
        except psycopg.Error as error:
            raise InfrastructureError(f"could not read the SQL store back: {error}", "check store.sql.dsn and query") from error
        return lost


_CHECKERS: dict[str, Callable[[Store], LostWriteChecker]] = {
    "redis": lambda store: RedisChecker(store.redis),  # type: ignore[arg-type]
    "sentinel": lambda store: SentinelChecker(store.sentinel),  # type: ignore[arg-type]
    "http": lambda store: HttpChecker(store.http),  # type: ignore[arg-type]
    "sql": lambda store: SqlChecker(store.sql),  # type: ignore[arg-type]
}


def checker_for(store: Store) -> LostWriteChecker:
    return _CHECKERS[store.kind](store)


def _missing_keys(client: redis.Redis, key: str, request_ids: Sequence[str]) -> set[str]:
    missing: set[str] = set()
    try:
        for batch in _batches(request_ids):
            pipeline = client.pipeline(transaction=False)
            for request_id in batch:
                pipeline.exists(key.replace("{request_id}", request_id))
            missing.update(rid for rid, found in zip(batch, pipeline.execute()) if not found)
    except redis.RedisError as error:
        raise InfrastructureError(f"could not read the prediction store back: {error}") from error
    finally:
        client.close()
    return missing


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]

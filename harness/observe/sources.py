"""How a stack is observed, as a target declares it: down-signals (TTD) and the prediction store (RPO).

These models belong to `observe/`, which turns them into watchers and
lost-write checkers; a target file (`targets/spec.py`) uses them for its
`signals:` and `store:`. Every address is on loopback: the harness never
addresses anything else.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, model_validator

from harness.units import Strict

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def loopback_url(url: str) -> str:
    """An http(s) URL on loopback: the harness never addresses anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{url}' is not an http:// URL")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"'{url}' is not on loopback; publish the port on 127.0.0.1 and use that")
    return url.rstrip("/")


def loopback_address(address: str) -> str:
    """'127.0.0.1:26379' (host defaults to 127.0.0.1)."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{address}' is not host:port")
    if host and host not in LOOPBACK_HOSTS:
        raise ValueError(f"'{address}' is not on loopback; publish the port on 127.0.0.1 and use that")
    return f"{host or '127.0.0.1'}:{port}"


LoopbackUrl = Annotated[str, AfterValidator(loopback_url)]
LoopbackAddress = Annotated[str, AfterValidator(loopback_address)]


def the_one_kind(model: BaseModel, what: str, kinds: tuple[str, ...]) -> str:
    """The name of the one field among `kinds` that is set; ValueError unless exactly one is."""
    given = [name for name in kinds if getattr(model, name) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} has exactly one of {', '.join(kinds)} (found {len(given)})")
    return given[0]


class HAProxySource(Strict):
    stats_url: LoopbackUrl
    backend: str


class SentinelSource(Strict):
    sentinels: list[LoopbackAddress] = Field(min_length=1)
    master: str
    port: int = Field(gt=0, lt=65536)
    """The port this server is announced with (it names the server in Sentinel's events)."""


class PrometheusSource(Strict):
    url: LoopbackUrl
    query: str
    """An instant query; the server is DOWN while its value is 0 (or it has no sample)."""


class Signal(Strict):
    """How the stack itself says one server is down; exactly one source."""

    http: LoopbackUrl | None = None
    """Polled at 20 Hz; DOWN when it does not answer 2xx within 200 ms."""
    haproxy: HAProxySource | None = None
    sentinel: SentinelSource | None = None
    prometheus: PrometheusSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Signal:
        the_one_kind(self, "a signal", SIGNAL_KINDS)
        return self

    @property
    def kind(self) -> str:
        return the_one_kind(self, "a signal", SIGNAL_KINDS)


SIGNAL_KINDS = ("http", "haproxy", "sentinel", "prometheus")


class RedisStore(Strict):
    url: str
    key: str = "pred:{request_id}"


class SentinelStore(Strict):
    sentinels: list[LoopbackAddress] = Field(min_length=1)
    master: str
    key: str = "pred:{request_id}"


class HttpStore(Strict):
    url: LoopbackUrl
    """With `{request_id}`; present = 200, missing = 404."""


class SqlStore(Strict):
    dsn: str
    """A PostgreSQL DSN on loopback."""
    query: str
    """One `%s` for the request id; returns a count (> 0: present)."""


class Store(Strict):
    """Where acknowledged predictions are read back after recovery (RPO); exactly one kind."""

    redis: RedisStore | None = None
    sentinel: SentinelStore | None = None
    http: HttpStore | None = None
    sql: SqlStore | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Store:
        the_one_kind(self, "a store", STORE_KINDS)
        for name in ("redis", "sentinel"):
            config = getattr(self, name)
            if config is not None and "{request_id}" not in config.key:
                raise ValueError(f"store.{name}.key must contain {{request_id}}")
        if self.http is not None and "{request_id}" not in self.http.url:
            raise ValueError("store.http.url must contain {request_id}")
        if self.sql is not None and self.sql.query.count("%s") != 1:
            raise ValueError("store.sql.query takes the request id as exactly one %s")
        return self

    @property
    def kind(self) -> str:
        return the_one_kind(self, "a store", STORE_KINDS)


STORE_KINDS = ("redis", "sentinel", "http", "sql")

"""The target file: what the system under test is, as the user declares it.

A target names the stack (a Compose file, or one already running), the
entry point the load calls, the only services and hops faults may touch, the
stack's own down-signals (TTD), its prediction store (RPO read-back) and the
headers it answers with. Whatever it leaves out is "not measured", never 0.
The file format is documented in `scenarios/README.md`; `load_target`
(in `loader.py`) reads it with file:line errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit


from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from harness.scenario import Duration

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


def _the_one_kind(model: BaseModel, what: str, kinds: tuple[str, ...]) -> str:
    """The name of the one field among `kinds` that is set; ValueError unless exactly one is."""
    given = [name for name in kinds if getattr(model, name) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} has exactly one of {', '.join(kinds)} (found {len(given)})")
    return given[0]


class Entry(_Strict):
    url: LoopbackUrl
    method: Literal["POST", "PUT", "GET"] = "POST"
    payloads: Path
    """JSON lines {"body": ..., "label": n}; relative to the target file."""
    prediction: str | None = None
    """Dotted path of the prediction in the response JSON (accuracy); None: not measured."""
    served_by_header: str | None = None
    model_version_header: str | None = None
    degraded_header: str | None = None


class Hop(_Strict):
    """A link faults may hit through Toxiproxy: inserted by the harness (`upstream`) or existing (`proxy`)."""

    upstream: str | None = None
    """'app-1:9000': the harness puts a proxy between the hop's two ends (compose override)."""
    proxy: str | None = None
    """The name of a proxy that already exists in the target's Toxiproxy."""
    signal: str | None = None
    """The server whose down-signal shows a fault on this hop; default: the hop's upstream end."""

    @model_validator(mode="after")
    def _one_way_in(self) -> Hop:
        if (self.upstream is None) == (self.proxy is None):
            raise ValueError("a hop has exactly one of 'upstream' (the harness inserts a proxy) or 'proxy' (one exists)")
        if self.upstream is not None:
            host, _, port = self.upstream.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"upstream '{self.upstream}' is not service:port")
        return self


class HAProxySource(_Strict):
    stats_url: LoopbackUrl
    backend: str


class SentinelSource(_Strict):
    sentinels: list[LoopbackAddress] = Field(min_length=1)
    master: str
    port: int = Field(gt=0, lt=65536)
    """The port this server is announced with (it names the server in Sentinel's events)."""


class PrometheusSource(_Strict):
    url: LoopbackUrl
    query: str
    """An instant query; the server is DOWN while its value is 0 (or it has no sample)."""


class Signal(_Strict):
    """How the stack itself says one server is down; exactly one source."""

    http: LoopbackUrl | None = None
    """Polled at 20 Hz; DOWN when it does not answer 2xx within 200 ms."""
    haproxy: HAProxySource | None = None
    sentinel: SentinelSource | None = None
    prometheus: PrometheusSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Signal:
        _the_one_kind(self, "a signal", SIGNAL_KINDS)
        return self

    @property
    def kind(self) -> str:
        return _the_one_kind(self, "a signal", SIGNAL_KINDS)


SIGNAL_KINDS = ("http", "haproxy", "sentinel", "prometheus")


class RedisStore(_Strict):
    url: str
    key: str = "pred:{request_id}"


class SentinelStore(_Strict):
    sentinels: list[LoopbackAddress] = Field(min_length=1)
    master: str
    key: str = "pred:{request_id}"


class HttpStore(_Strict):
    url: LoopbackUrl
    """With `{request_id}`; present = 200, missing = 404."""


class SqlStore(_Strict):
    dsn: str
    """A PostgreSQL DSN on loopback."""
    query: str
    """One `%s` for the request id; returns a count (> 0: present)."""


class Store(_Strict):
    """Where acknowledged predictions are read back after recovery (RPO); exactly one kind."""

    redis: RedisStore | None = None
    sentinel: SentinelStore | None = None
    http: HttpStore | None = None
    sql: SqlStore | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Store:
        _the_one_kind(self, "a store", STORE_KINDS)
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
        return _the_one_kind(self, "a store", STORE_KINDS)


STORE_KINDS = ("redis", "sentinel", "http", "sql")


class TargetSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    compose_file: Path
    """Relative to the target file; with `attach: true`, the file the running stack was started from."""
    project: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    """The Compose project; default `failover-<name>`."""
    attach: bool = False
    """The stack is already running: never brought up or down."""
    toxiproxy: LoopbackUrl | None = None
    """Toxiproxy's API on loopback: the target's own (`proxy:` hops) or the one the harness adds."""
    entry: Entry
    request_id_header: str = "X-Request-Id"
    ready_timeout: Duration = Field(180.0, gt=0, le=3600)
    services: list[str] = []
    hops: dict[str, Hop] = {}
    signals: dict[str, Signal] = {}
    store: Store | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TargetSpec:
        if self.hops and self.toxiproxy is None:
            raise ValueError("hops need 'toxiproxy': the loopback URL of the Toxiproxy API")
        inserted = [name for name, hop in self.hops.items() if hop.upstream is not None]
        if inserted and self.attach:
            raise ValueError(
                f"hop {inserted[0]} asks the harness to insert a proxy, which needs it to bring the stack up; "
                "with attach: true name an existing proxy instead (proxy: NAME)"
            )
        for name in self.hops:
            source, arrow, destination = name.partition("->")
            if not arrow or not source.strip() or not destination.strip():
                raise ValueError(f"hop '{name}' is not written 'from->to'")
        return self

    @property
    def compose_project(self) -> str:
        return self.project or f"failover-{self.name}"


"""Model server configuration, read once from environment variables.

Serving:
  SERVER_NAME           required  name reported in responses and headers, e.g. model-a
  LISTEN                required  host:port to bind, e.g. 0.0.0.0:8001
  REGISTRY_DIR          required  directory holding manifest.json and the artifacts
  MODEL_ALIAS           champion  comma list of manifest aliases or versions, in order of
                                  preference: the first one the manifest has is served, e.g.
                                  canary,champion serves the canary while that alias is set
  RELOAD_INTERVAL       0.25      seconds between manifest polls (hot reload, see reload.py)
  DEGRADED              0         1 marks this server as the degraded fallback
  VALIDATION_FILE       required  labeled jsonl used by the start-up self-check
  SELF_CHECK_TOLERANCE  0.02      max |validation accuracy - manifest accuracy|
  MAX_BODY_BYTES        65536     larger /predict bodies are refused with 413
  MAX_INFERENCES        4         inferences running at once; the others wait for a slot
  QUEUE_WAIT            0.5       seconds a request may wait for a slot before a 503 (load shed:
                                  an overloaded server answers fast and the gateway retries
                                  elsewhere, instead of queueing work nobody waits for any more)

Prediction store (Redis primary found through Sentinel):
  SENTINELS             required  host:port,host:port,... asked in turn for the primary
  SENTINEL_MASTER       predictions  name of the monitored primary
  REDIS_ROUTES          ""        reported=actual,... e.g. redis-1:16379=toxiproxy:16401.
                                  Maps the primary address a Sentinel reports to the
                                  address to connect to (Toxiproxy sits on the hop).
                                  When set, an unrouted primary is an error, never a
                                  direct connection. Empty: connect to what is reported.
  STORE_TIMEOUT         0.5       seconds, connect and command timeout per Redis call

A missing or malformed variable raises ConfigError naming it; the server
refuses to start rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration variable is missing or malformed."""


class Address(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    server_name: str
    listen: Address
    registry_dir: Path
    model_aliases: tuple[str, ...]
    reload_interval: float
    degraded: bool
    validation_file: Path
    self_check_tolerance: float
    max_body_bytes: int
    max_inferences: int
    queue_wait: float
    sentinels: tuple[Address, ...]
    sentinel_master: str
    redis_routes: Mapping[Address, Address]
    store_timeout: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = _Reader(env)
        return cls(
            server_name=reader.text("SERVER_NAME"),
            listen=reader.parsed("LISTEN", None, parse_address),
            registry_dir=Path(reader.text("REGISTRY_DIR")),
            model_aliases=reader.parsed("MODEL_ALIAS", "champion", parse_name_list),
            reload_interval=reader.parsed("RELOAD_INTERVAL", "0.25", parse_positive),
            degraded=reader.parsed("DEGRADED", "0", parse_flag),
            validation_file=Path(reader.text("VALIDATION_FILE")),
            self_check_tolerance=reader.parsed("SELF_CHECK_TOLERANCE", "0.02", parse_non_negative),
            max_body_bytes=int(reader.parsed("MAX_BODY_BYTES", "65536", parse_positive)),
            max_inferences=int(reader.parsed("MAX_INFERENCES", "4", parse_positive)),
            queue_wait=reader.parsed("QUEUE_WAIT", "0.5", parse_positive),
            sentinels=reader.parsed("SENTINELS", None, parse_address_list),
            sentinel_master=reader.text("SENTINEL_MASTER", "predictions"),
            redis_routes=reader.parsed("REDIS_ROUTES", "", parse_routes),
            store_timeout=reader.parsed("STORE_TIMEOUT", "0.5", parse_positive),
        )


class _Reader:
    """Reads variables and prefixes every parse error with the variable's name."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str | None = None) -> str:
        value = self._env.get(name, "").strip() or default
        if value is None:
            raise ConfigError(f"{name} is required but not set")
        return value

    def parsed(self, name: str, default: str | None, parse: Callable[[str], T]) -> T:
        raw = self._env.get(name, default)
        if raw is None:
            raise ConfigError(f"{name} is required but not set")
        try:
            return parse(raw.strip())
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r}: {exc}") from None


def parse_address(raw: str) -> Address:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {raw!r}")
    return Address(host, int(port))


def parse_address_list(raw: str) -> tuple[Address, ...]:
    addresses = tuple(parse_address(item.strip()) for item in raw.split(",") if item.strip())
    if not addresses:
        raise ValueError("expected at least one host:port")
    return addresses


def parse_name_list(raw: str) -> tuple[str, ...]:
    names = tuple(item.strip() for item in raw.split(",") if item.strip())
    if not names:
        raise ValueError("expected at least one alias or version, e.g. canary,champion")
    return names


def parse_routes(raw: str) -> dict[Address, Address]:
    routes = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        reported, sep, actual = item.partition("=")
        if not sep:
            raise ValueError(f"expected reported=actual, got {item!r}")
        routes[parse_address(reported.strip())] = parse_address(actual.strip())
    return routes


def parse_flag(raw: str) -> bool:
    flags = {"0": False, "false": False, "1": True, "true": True}
    if raw.lower() not in flags:
        raise ValueError("expected 0 or 1")
    return flags[raw.lower()]


def parse_positive(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a number > 0")
    return value


def parse_non_negative(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("expected a number >= 0")
    return value

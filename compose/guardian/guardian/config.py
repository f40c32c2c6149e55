"""Guardian configuration, read once from environment variables.

Profile:
  PROFILE             default   `flagger-like` starts from FLAGGER_LIKE's values instead of the
                                defaults below (variables set explicitly still win)

Where things are:
  LISTEN              required  host:port of the guardian's own API (/events, /health)
  REGISTRY_DIR        required  directory holding manifest.json (the file registry)
  VALIDATION_FILE     required  golden labelled requests, jsonl {"features": [...], "label": int}
  REPLICAS            required  name=host:port,... the model servers probed directly
  CANARY_REPLICA      model-b   the replica that follows `canary,champion`
  --runtime-api       (none)    command-line argument: host:port of HAProxy's runtime API;
                                without it a canary runs on the replica's normal traffic share
  HAPROXY_BACKEND     models    backend holding the replicas' servers (named like the replicas)

Probing and analysis (defaults roll back a bad push in seconds):
  PROBE_RATE          10        golden requests per second, per replica
  PROBE_TIMEOUT_S     1.0       a probe slower than this counts as an error
  EVAL_INTERVAL_S     0.25      seconds between evaluations of the windows
  WINDOW_S            30        a sample older than this leaves the window
  WINDOW_SAMPLES      40        ... and so does one beyond the newest WINDOW_SAMPLES of its version
  MIN_SAMPLES         20        no verdict on a version with fewer samples in its window
  PROVE_SAMPLES       40        a version is proven good (a rollback target, a canary to promote)
                                by a window this full whose figures are all within the limits
  FAILURE_THRESHOLD   1         consecutive bad evaluations before a rollback is decided
  MIN_ACCURACY        0.75      a version is bad when its accuracy is below this ...
  ACCURACY_TOLERANCE  0.15      ... or below its recorded accuracy (manifest metrics) minus this
  CONFIDENCE_Z        2.576     "below" means the Wilson upper bound (z) of the window's accuracy
                                is below: a good version is not rolled back on an unlucky window
                                (v1, 90.5 % on the golden set: about 1e-6 per 20-sample window;
                                v3, 47.5 %: caught by 67 % of 20-sample windows, 80 % of 30)
  MAX_ERROR_RATE      0.05      bad when the Wilson lower bound of the error rate is above this
  MAX_P95_S           0.5       bad when the window's p95 latency is above this
  CANARY_WEIGHT       0.2       share of the gateway's traffic the canary replica gets
  CANARY_MIN_S        2.0       a canary is analysed at least this long before a promotion
  CANARY_TIMEOUT_S    30        a canary with too few samples after this long is rolled back
  VERIFY_TIMEOUT_S    10        a rollback not seen on every replica after this is logged as stuck
  RETRY_INTERVAL_S    0.5       wait between attempts to write an unavailable registry

Errors and latency judge a version only until the guardian has verified it good
(a full window passing every check): after that they are the infrastructure's
business (a store outage answers 503 on every version alike, and rolling back
would not help); accuracy on labelled requests always judges. A 503 (replica
loading, store down) counts for no version; a probe nothing answered counts
against the version the replica served last (a version may crash its server).

FLAGGER_LIKE is the same controller with Flagger's default timing (analysis
every 60 s over a 1 m metric window, rollback after `threshold` failed checks;
5 here, Flagger's examples use 5-10). Flagger itself never looks at accuracy;
the benchmark keeps accuracy on to compare timing alone.

A missing or malformed variable raises ConfigError naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import NamedTuple, TypeVar


class ConfigError(Exception):
    """A configuration variable is missing or malformed."""


class Address(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Thresholds:
    """What makes a version bad, and how much evidence a verdict needs."""

    min_samples: int = 20
    prove_samples: int = 40
    failure_threshold: int = 1
    min_accuracy: float = 0.75
    accuracy_tolerance: float = 0.15
    confidence_z: float = 2.576
    max_error_rate: float = 0.05
    max_p95_s: float = 0.5


@dataclass(frozen=True)
class Timing:
    probe_rate: float = 10.0
    probe_timeout_s: float = 1.0
    eval_interval_s: float = 0.25
    window_s: float = 30.0
    window_samples: int = 40
    canary_weight: float = 0.2
    canary_min_s: float = 2.0
    canary_timeout_s: float = 30.0
    verify_timeout_s: float = 10.0
    retry_interval_s: float = 0.5


FLAGGER_LIKE: dict[str, str] = {
    "EVAL_INTERVAL_S": "60",
    "WINDOW_S": "60",
    "WINDOW_SAMPLES": "100000",
    "FAILURE_THRESHOLD": "5",
    "CANARY_MIN_S": "300",
    "CANARY_TIMEOUT_S": "900",
}
"""Environment overrides giving Flagger's default analysis timing (see the module docstring)."""
PROFILES: dict[str, dict[str, str]] = {"default": {}, "flagger-like": FLAGGER_LIKE}


@dataclass(frozen=True)
class Settings:
    listen: Address
    registry_dir: Path
    validation_file: Path
    replicas: dict[str, Address]
    canary_replica: str
    runtime_api: Address | None
    haproxy_backend: str
    thresholds: Thresholds
    timing: Timing

    @classmethod
    def from_env(cls, env: Mapping[str, str], runtime_api: str | None = None) -> Settings:
        profile = _text(env, "PROFILE", "default")
        if profile not in PROFILES:
            raise ConfigError(f"PROFILE={profile!r}: expected one of {', '.join(PROFILES)}")
        env = {**PROFILES[profile], **{name: value for name, value in env.items() if value.strip()}}
        replicas = _parsed(env, "REPLICAS", None, parse_replicas)
        canary = _text(env, "CANARY_REPLICA", "model-b")
        if canary not in replicas:
            raise ConfigError(f"CANARY_REPLICA={canary!r} is not one of REPLICAS ({', '.join(replicas)})")
        return cls(
            listen=_parsed(env, "LISTEN", None, parse_address),
            registry_dir=Path(_text(env, "REGISTRY_DIR")),
            validation_file=Path(_text(env, "VALIDATION_FILE")),
            replicas=replicas,
            canary_replica=canary,
            runtime_api=None
            if runtime_api is None
            else _parsed({"--runtime-api": runtime_api}, "--runtime-api", None, parse_address),
            haproxy_backend=_text(env, "HAPROXY_BACKEND", "models"),
            thresholds=_numbers(Thresholds(), env),
            timing=_numbers(Timing(), env),
        )


N = TypeVar("N", Thresholds, Timing)


def _numbers(defaults: N, env: Mapping[str, str]) -> N:
    """Each field overridden by its upper-case variable, parsed as the default's type, > 0."""
    changes: dict[str, float | int] = {}
    for field in fields(defaults):
        name = field.name.upper()
        raw = env.get(name, "").strip()
        if not raw:
            continue
        kind = type(getattr(defaults, field.name))
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: expected {'an integer' if kind is int else 'a number'}") from None
        if not value > 0:
            raise ConfigError(f"{name}={raw!r}: expected a number > 0")
        changes[field.name] = value
    return replace(defaults, **changes)


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, "").strip() or default
    if value is None:
        raise ConfigError(f"{name} is required but not set")
    return value


P = TypeVar("P")


def _parsed(env: Mapping[str, str], name: str, default: str | None, parse: Callable[[str], P]) -> P:
    raw = _text(env, name, default)
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None


def parse_address(raw: str) -> Address:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {raw!r}")
    return Address(host, int(port))


def parse_replicas(raw: str) -> dict[str, Address]:
    replicas = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, address = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected name=host:port, got {item!r}")
        replicas[name.strip()] = parse_address(address.strip())
    if not replicas:
        raise ValueError("expected at least one name=host:port")
    return replicas

"""Profiles of the reference stack: the same services, tuned or with their stock settings.

A profile is a named set of the compose file's variables. The compose file
holds the `tuned` values as the defaults of its `${FAILOVER_...}` variables
(so `tuned` sets nothing), and `default` sets them to what each program does
when nobody configures it: HAProxy's health checks and timeouts, Redis
Sentinel's detection and failover timeouts, model servers that load their
model once at start (no hot reload), a rollout controller with Flagger's
cadence. Both backends read the variables the same way (Compose interpolates
them; the local backend through `StackSettings.environment()`). What each
difference does to a failover: docs/profiles.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.errors import BadInput

DEFAULT_PROFILE = "tuned"


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    variables: Mapping[str, str] = field(default_factory=dict)
    """Compose-file variables this profile sets; the rest keep the file's defaults (the tuned values)."""


TUNED = Profile("tuned", "the reference stack as shipped: fast health checks, L7 retries, Sentinel down-after 1 s")

HAPROXY_STOCK = {
    "FAILOVER_GW_CHECK_INTER": "2s",  # HAProxy's default `inter`
    "FAILOVER_GW_CHECK_FASTINTER": "2s",  # unset: `inter`
    "FAILOVER_GW_CHECK_DOWNINTER": "2s",  # unset: `inter`
    "FAILOVER_GW_CHECK_RISE": "2",
    "FAILOVER_GW_CHECK_FALL": "3",
    "FAILOVER_GW_CHECK_TIMEOUT": "",  # `timeout check` unset: a whole check is bounded by `inter`
    "FAILOVER_GW_OBSERVE": "",  # no `observe`: live traffic never marks a server down
    "FAILOVER_GW_TIMEOUT_CONNECT": "5s",  # Debian's packaged haproxy.cfg
    "FAILOVER_GW_TIMEOUT_SERVER": "30s",
    "FAILOVER_GW_RETRY_ON": "conn-failure",  # `retry-on` unset: connection failures only, no L7 retries
    "FAILOVER_GW_REDISPATCH": "0",  # no `option redispatch`: a retry goes to the same server
}
SENTINEL_STOCK = {
    "FAILOVER_SENTINEL_DOWN_AFTER_MS": "30000",
    "FAILOVER_SENTINEL_FAILOVER_TIMEOUT_MS": "180000",
}
MODEL_SERVER_STOCK = {
    # Load the model at start only, as a model server does without polling its registry (Triton's
    # `--model-control-mode=none`): a poll once a day never comes within a run.
    "FAILOVER_MODEL_RELOAD_INTERVAL": "86400",
    "FAILOVER_GUARDIAN_PROFILE": "flagger-like",  # Flagger's default analysis cadence (60 s)
}
DEFAULT = Profile(
    "default",
    "the same services with stock settings: HAProxy checks every 2 s (fall 3), server timeout 30 s, no L7 "
    "retries or redispatch; Sentinel down-after 30 s; no model hot reload",
    {**HAPROXY_STOCK, **SENTINEL_STOCK, **MODEL_SERVER_STOCK},
)
PROFILES: dict[str, Profile] = {profile.name: profile for profile in (TUNED, DEFAULT)}


def profile_names() -> list[str]:
    return list(PROFILES)


def check_profile(name: str) -> str:
    """`name` when it is a profile; otherwise BadInput naming the choices."""
    if name not in PROFILES:
        choices = ", ".join(PROFILES)
        raise BadInput(f"unknown stack profile '{name}'", f"choose one of: {choices}")
    return name


def profile_environment(name: str) -> dict[str, str]:
    """The compose variables profile `name` sets."""
    return dict(PROFILES[check_profile(name)].variables)

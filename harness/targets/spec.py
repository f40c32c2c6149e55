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

from pydantic import Field, StringConstraints, model_validator

from harness.models.kinds import RegistryConfig
from harness.observe.sources import LoopbackUrl, Signal, Store
from harness.units import Duration, Strict


class Entry(Strict):
    url: LoopbackUrl
    method: Literal["POST", "PUT", "GET"] = "POST"
    payloads: Path
    """JSON lines {"body": ..., "label": n}; relative to the target file."""
    prediction: str | None = None
    """Dotted path of the prediction in the response JSON (accuracy); None: not measured."""
    served_by_header: str | None = None
    model_version_header: str | None = None
    degraded_header: str | None = None


class Hop(Strict):
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


class Model(Strict):
    """A model the stack serves: where its versions live and who serves it (model faults act on these)."""

    registry: RegistryConfig
    """Where its versions and aliases live; `{kind: file, path: DIR}` (paths relative to the target file)."""
    served_by: list[str] = []
    """The services that serve it; each must be in `services`."""
    golden: Path | None = None
    """Labelled requests (JSON lines, like entry.payloads, every line with a label)."""
    faulty: Path | None = None
    """A library of bad artifacts to push: a folder with index.json."""
    rollout_events: LoopbackUrl | None = None
    """A rollout controller's decisions (promote, roll back), as events."""


ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class TargetSpec(Strict):
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
    models: dict[ModelName, Model] = {}

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


"""`latency`: every response on a hop delayed by `latency` (+/- `jitter`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.hop.toxic import Toxic, ms
from harness.units import Duration


class LatencyParams(FaultParams):
    action: Literal["latency"]
    latency: Duration = Field(examples=["800ms"])
    """Added to every response."""
    jitter: Duration | None = None
    """Each response's delay drawn from latency +/- jitter."""


def build(params: LatencyParams, context: FaultContext) -> Toxic:
    attributes = {"latency": ms(params.latency), "jitter": ms(params.jitter)}
    return Toxic(context.toxiproxy_url, context.proxy(params.target), "latency", attributes)


FAULT = register(
    FaultType("latency", LatencyParams, "hop", build, "every response on the hop delayed (Toxiproxy latency toxic)")
)

"""`latency`: every response on a hop delayed by `latency` (+/- `jitter`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams, ms
from harness.units import Duration


class LatencyParams(ToxicParams):
    action: Literal["latency"]
    latency: Duration = Field(examples=["800ms"])
    """Added to every chunk of data on the stream."""
    jitter: Duration | None = None
    """Each delay drawn from latency +/- jitter."""


def build(params: LatencyParams, context: FaultContext) -> Toxic:
    attributes = {"latency": ms(params.latency), "jitter": ms(params.jitter)}
    return Toxic.of(params, context.proxy(params.target), "latency", attributes, context.toxiproxy_url)


FAULT = register(FaultType("latency", LatencyParams, "hop", build, "data on the hop delayed (Toxiproxy latency)"))

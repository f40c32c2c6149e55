"""`timeout`: a hop that swallows data and closes the connection after `timeout` (0: holds it open)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams, ms
from harness.units import Duration


class TimeoutParams(ToxicParams):
    action: Literal["timeout"]
    timeout: Duration = Field(examples=["0s"])
    """Close the connection after this long; 0 = black hole until reverted."""


def build(params: TimeoutParams, context: FaultContext) -> Toxic:
    attributes = {"timeout": ms(params.timeout)}
    return Toxic.of(params, context.proxy(params.target), "timeout", attributes, context.toxiproxy_url)


FAULT = register(
    FaultType("timeout", TimeoutParams, "hop", build, "a black hole: data stops, connections hang (Toxiproxy timeout)")
)

"""`timeout`: a hop that swallows data and closes the connection after `timeout` (0: holds it open)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.hop.toxic import Toxic, ms
from harness.units import Duration


class TimeoutParams(FaultParams):
    action: Literal["timeout"]
    timeout: Duration = Field(examples=["0s"])
    """Close the connection after this long; 0 = black hole until reverted."""


def build(params: TimeoutParams, context: FaultContext) -> Toxic:
    return Toxic(context.toxiproxy_url, context.proxy(params.target), "timeout", {"timeout": ms(params.timeout)})


FAULT = register(
    FaultType("timeout", TimeoutParams, "hop", build, "a black hole: data stops, connections hang (Toxiproxy timeout)")
)

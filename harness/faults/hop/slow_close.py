"""`slow_close`: the hop delays closing a connection by `delay` (a peer that lingers on FIN)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams, ms
from harness.units import Duration


class SlowCloseParams(ToxicParams):
    action: Literal["slow_close"]
    delay: Duration = Field(examples=["2s"])
    """How long the close is held back."""


def build(params: SlowCloseParams, context: FaultContext) -> Toxic:
    attributes = {"delay": ms(params.delay)}
    return Toxic.of(params, context.proxy(params.target), "slow_close", attributes, context.toxiproxy_url)


FAULT = register(FaultType("slow_close", SlowCloseParams, "hop", build, "connections closed only after a delay"))

"""`bandwidth`: the hop's stream limited to `rate` KB/s (a saturated or throttled link)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams


class BandwidthParams(ToxicParams):
    action: Literal["bandwidth"]
    rate: int = Field(gt=0, examples=[64])
    """KB/s (1 KB = 1024 bytes) the stream may carry."""


def build(params: BandwidthParams, context: FaultContext) -> Toxic:
    return Toxic.of(params, context.proxy(params.target), "bandwidth", {"rate": params.rate}, context.toxiproxy_url)


FAULT = register(FaultType("bandwidth", BandwidthParams, "hop", build, "the stream limited to rate KB/s"))

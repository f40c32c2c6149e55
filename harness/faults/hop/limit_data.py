"""`limit_data`: a connection on the hop is closed once `bytes` have passed (a response cut short)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams


class LimitDataParams(ToxicParams):
    action: Literal["limit_data"]
    bytes: int = Field(gt=0, examples=[100])
    """Bytes a connection carries on the stream before it is closed."""


def build(params: LimitDataParams, context: FaultContext) -> Toxic:
    attributes = {"bytes": params.bytes}
    return Toxic.of(params, context.proxy(params.target), "limit_data", attributes, context.toxiproxy_url)


FAULT = register(FaultType("limit_data", LimitDataParams, "hop", build, "connections closed after N bytes"))

"""`slicer`: data on the hop cut into small packets with a delay between them (fragmented TCP)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams
from harness.units import Duration


class SlicerParams(ToxicParams):
    action: Literal["slicer"]
    average_size: int = Field(gt=0, examples=[16])
    """Mean packet size, bytes."""
    size_variation: int = Field(0, ge=0)
    """Packet sizes drawn from average_size +/- this, bytes (less than average_size)."""
    delay: Duration = 0.0
    """Pause between packets."""


def build(params: SlicerParams, context: FaultContext) -> Toxic:
    attributes = {
        "average_size": params.average_size,
        "size_variation": min(params.size_variation, params.average_size - 1),
        "delay": round(params.delay * 1_000_000),  # Toxiproxy takes microseconds here
    }
    return Toxic.of(params, context.proxy(params.target), "slicer", attributes, context.toxiproxy_url)


FAULT = register(FaultType("slicer", SlicerParams, "hop", build, "data sliced into small delayed packets"))

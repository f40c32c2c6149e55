"""`reset_peer`: connections on the hop reset (TCP RST) after `timeout` (0: at once)."""

from __future__ import annotations

from typing import Literal

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.hop.toxic import Toxic, ToxicParams, ms
from harness.units import Duration


class ResetPeerParams(ToxicParams):
    action: Literal["reset_peer"]
    timeout: Duration = 0.0
    """Reset this long after data first flows; 0: at once."""


def build(params: ResetPeerParams, context: FaultContext) -> Toxic:
    attributes = {"timeout": ms(params.timeout)}
    return Toxic.of(params, context.proxy(params.target), "reset_peer", attributes, context.toxiproxy_url)


FAULT = register(FaultType("reset_peer", ResetPeerParams, "hop", build, "connections reset by peer (TCP RST)"))

"""`zone_loss`: every service of a zone (label `failover.zone`) killed at once, as when a rack, an
availability zone or a node pool goes; the revert starts them all again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.errors import BadInput
from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import service_state
from harness.stack import Stack


class ZoneLossParams(FaultParams):
    action: Literal["zone_loss"]


@dataclass
class ZoneLoss:
    stack: Stack
    zone: str
    services: tuple[str, ...]

    def inject(self) -> None:
        for service in self.services:
            self.stack.kill(service)

    def revert(self) -> None:
        for service in self.services:
            if service_state(self.stack, service) != "running":
                self.stack.start(service)

    def describe(self) -> str:
        return f"zone loss {self.zone} ({', '.join(self.services)})"


def build(params: ZoneLossParams, context: FaultContext) -> ZoneLoss:
    services = context.zones.get(params.target)
    if not services:
        known = ", ".join(sorted(context.zones)) or "none (label services with failover.zone)"
        raise BadInput(f"no zone '{params.target}' to take down", f"zones: {known}")
    return ZoneLoss(context.stack, params.target, services)


FAULT = register(FaultType("zone_loss", ZoneLossParams, "zone", build, "every service of a zone killed at once"))

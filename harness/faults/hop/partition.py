"""`partition`: the hop disabled, so connections are refused and open ones dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.hop.toxic import proxy


class PartitionParams(FaultParams):
    action: Literal["partition"]


@dataclass
class Partition:
    toxiproxy_url: str
    hop: str

    def inject(self) -> None:
        proxy(self.toxiproxy_url, self.hop).disable()

    def revert(self) -> None:
        proxy(self.toxiproxy_url, self.hop).enable()

    def describe(self) -> str:
        return f"partition {self.hop}"


def build(params: PartitionParams, context: FaultContext) -> Partition:
    return Partition(context.toxiproxy_url, context.proxy(params.target))


FAULT = register(
    FaultType("partition", PartitionParams, "hop", build, "the hop cut: connections refused, open ones dropped")
)

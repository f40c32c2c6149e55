"""`registry_down`: the model registry unavailable to readers and writers (servers cannot load a new
version, a rollout controller cannot move an alias) until reverted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.model import model_access
from harness.models import outage
from harness.models.file_registry import FileRegistry


class RegistryDownParams(FaultParams):
    action: Literal["registry_down"]

    def scope(self) -> str:
        return "the registry itself"  # alias faults may overlap it: a push, then the registry fails


@dataclass
class RegistryDown:
    registry: FileRegistry

    def inject(self) -> None:
        outage.take_down(self.registry)

    def revert(self) -> None:
        outage.bring_back(self.registry)

    def describe(self) -> str:
        return f"model registry {self.registry.root} down"


def build(params: RegistryDownParams, context: FaultContext) -> RegistryDown:
    return RegistryDown(model_access(context, params.target).open_registry())


FAULT = register(FaultType("registry_down", RegistryDownParams, "model", build, "the model registry unavailable"))

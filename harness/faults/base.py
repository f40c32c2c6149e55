"""The fault protocol, the context faults act through, and the registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from harness.errors import BadInput
from harness.scenario import Fault as FaultSpec
from harness.scenario import normalize_hop
from harness.stack import Stack


class Fault(Protocol):
    def inject(self) -> None:
        """Break the target. Returns once the fault is in effect."""

    def revert(self) -> None:
        """Undo `inject`. Idempotent: reverting twice, or an uninjected fault, is harmless."""

    def describe(self) -> str:
        """One line for people: 'latency 800ms on gateway->model-a'."""


@dataclass(frozen=True)
class FaultContext:
    """What faults act through: the stack (services) and its Toxiproxy API."""

    stack: Stack
    toxiproxy_url: str
    proxies: Mapping[str, str] = field(default_factory=dict)
    """Hop (as `normalize_hop` writes it) -> Toxiproxy proxy name, where the target names it otherwise."""

    def proxy(self, hop: str) -> str:
        name = normalize_hop(hop)
        return self.proxies.get(name, name)


FaultFactory = Callable[[FaultSpec, FaultContext], Fault]
_REGISTRY: dict[str, FaultFactory] = {}
FAULT_TYPES: list[str] = []


def register(name: str) -> Callable[[FaultFactory], FaultFactory]:
    def add(factory: FaultFactory) -> FaultFactory:
        _REGISTRY[name] = factory
        FAULT_TYPES.append(name)
        return factory

    return add


def build_fault(spec: FaultSpec, context: FaultContext) -> Fault:
    factory = _REGISTRY.get(spec.action)
    if factory is None:
        raise BadInput(f"unknown fault action '{spec.action}'", f"known actions: {', '.join(sorted(_REGISTRY))}")
    return factory(spec, context)

"""What a fault is, what it acts through, and how a fault type declares itself.

A fault type is one module (`faults/service/kill.py`, `faults/hop/latency.py`,
...) that declares its parameters as a pydantic model, what it acts on and how
to build the fault, with one `register(FaultType(...))`. Scenario validation,
the timeline, `heal` and `failover fault-types` all read that declaration;
`catalogue.py` imports every module, so adding a fault type is one module
plus one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from harness.load.entry import EntryPoint
from harness.models.access import ModelAccess
from harness.stack import Stack
from harness.units import Duration, Strict, format_duration, is_duration

if TYPE_CHECKING:
    from harness.result import SLOResult

ActsOn = Literal["service", "hop", "zone", "model", "entry"]
"""What a fault's `target` names: a service the target opted in, a hop (a Toxiproxy proxy), a zone (the services labelled
`failover.zone` with its name), a model the target
declares (its registry), or `entry`
(the target's entry point, which the harness calls as a client)."""


class Fault(Protocol):
    def inject(self) -> None:
        """Break the target. Returns once the fault is in effect."""

    def revert(self) -> None:
        """Undo `inject`. Idempotent: reverting twice, or an uninjected fault, is harmless."""

    def describe(self) -> str:
        """One line for people: 'latency 800ms on gateway->model-a'."""


@runtime_checkable
class SelfJudging(Protocol):
    """A fault that judges an effect only it can see (e.g. the answers to the requests it sent itself)."""

    def checks(self) -> list[SLOResult]:
        """SLO results added to the fault's own score."""

    def findings(self) -> dict[str, Any]:
        """What it saw, for the journal."""


def normalize_hop(target: str) -> str:
    """'gateway->model-a' -> 'gateway-model-a', the Toxiproxy proxy's name."""
    return target.replace("->", "-").strip()


@dataclass(frozen=True)
class FaultContext:
    """What faults act through: the stack (services) and its Toxiproxy API."""

    stack: Stack
    toxiproxy_url: str
    proxies: Mapping[str, str] = field(default_factory=dict)
    """Hop (as `normalize_hop` writes it) -> Toxiproxy proxy name, where the target names it otherwise."""
    entry: EntryPoint | None = None
    """The target's entry point, for faults that act as a client; None where none is known (heal)."""
    models: Mapping[str, ModelAccess] = field(default_factory=dict)
    """Model name -> its registry and faulty library, for model faults."""
    zones: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Zone -> its services, for zone faults."""

    def proxy(self, hop: str) -> str:
        name = normalize_hop(hop)
        return self.proxies.get(name, name)


class FaultParams(Strict):
    """A timeline entry: when, what, for how long. Each fault type's model adds its `action` (a literal
    naming the type) and its own parameters."""

    at: Duration
    """Seconds after the steady-state check ended."""
    action: str
    target: str
    """A service, or a hop `from->to` (or its Toxiproxy proxy name): what the type acts on."""
    duration: Duration | None = None
    """Revert after this long; None: the fault lasts until the load ends, and is reverted then."""

    def parameters(self) -> dict[str, Any]:
        """The type's parameters (not when or where), its own before shared ones, as written in a result file."""
        common = set(FaultParams.model_fields)
        values = self.model_dump(mode="json")
        own_first = [*type(self).__annotations__, *values]
        return {name: values[name] for name in dict.fromkeys(own_first) if name in values and name not in common}

    def scope(self) -> str:
        """What on its target the fault holds: a second fault of the same scope at the same time is refused
        (its revert would undo the first). The whole target, unless a type holds only part of it."""
        return ""

    def shown_parameters(self) -> str:
        """'latency 800ms, jitter 50ms': the type's own parameters where not left at their defaults,
        durations written as durations."""
        fields, given = type(self).model_fields, self.model_dump(mode="json", exclude_defaults=True)
        shown = [
            f"{name} {format_duration(value) if is_duration(fields[name]) else value}"
            for name, value in self.parameters().items()
            if name in given
        ]
        return ", ".join(shown)


@dataclass(frozen=True)
class FaultType:
    name: str
    params: type[FaultParams]
    acts_on: ActsOn
    build: Callable[[Any, FaultContext], Fault]
    """(the validated params, the context) -> the fault, ready to inject."""
    summary: str
    """One line for people, for `failover fault-types` and the docs."""
    backends: frozenset[str] = frozenset({"local", "compose"})
    """The stack backends that can do it; a scenario or an inject on another is refused before anything starts."""


_TYPES: dict[str, FaultType] = {}


def register(fault_type: FaultType) -> FaultType:
    action = fault_type.params.model_fields["action"].annotation
    if action != Literal[fault_type.name]:
        raise TypeError(f"{fault_type.params.__name__}.action must be Literal['{fault_type.name}']")
    _TYPES[fault_type.name] = fault_type
    return fault_type


def fault_types() -> list[FaultType]:
    """Every registered type, in registration order (the catalogue's order)."""
    return list(_TYPES.values())


def fault_type(name: str) -> FaultType:
    return _TYPES[name]


def acting_on(kind: ActsOn) -> list[str]:
    """The names of the types whose target is a `kind` (service or hop), in catalogue order."""
    return [each.name for each in _TYPES.values() if each.acts_on == kind]

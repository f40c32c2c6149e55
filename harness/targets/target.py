"""A target at run time: its declaration plus how to bring it up, watch it and read it back.

The runner asks the target, never the backend, for everything that depends
on what the system under test is: its entry point, which services and hops
faults may touch, the watchers of its down-signals (TTD), its lost-write
checker (RPO), its readiness, and what it cannot measure. Kinds differ only
in how their stack is opened (`open_stack`): see `reference.py` and
`compose_file.py`.
"""

from __future__ import annotations

import hashlib
import os
import time
from abc import ABC, abstractmethod
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import BadInput, StackNotHealthy
from harness.faults import FaultContext, normalize_hop
from harness.load.entry import EntryPoint
from harness.load.payloads import Payload, load_payloads
from harness.models.access import ModelAccess
from harness.models.faulty import FaultyLibrary
from harness.models.file_registry import FileRegistry
from harness.stack import Backend, Stack
from harness.stack.spec import load_stack_spec
from harness.targets.spec import Model, TargetSpec

if TYPE_CHECKING:  # imported where used: `failover inject` need not load the observers and clients
    from harness.observe.state_watch import StateWatch
    from harness.observe.stores import LostWriteChecker

_READY_POLL_S = 0.1


class Target(ABC):
    kind: ClassVar[str]

    def __init__(self, spec: TargetSpec, file: Path) -> None:
        self.spec = spec
        self.file = file

    @property
    def name(self) -> str:
        return self.spec.name

    # what the stack is

    @abstractmethod
    def open_stack(self, backend: Backend | None, run_dir: Path) -> Stack:
        """The stack on `backend` (None: the target's default); `run_dir` holds generated files."""

    def default_backend(self) -> Backend:
        return "compose"

    @property
    def entry(self) -> EntryPoint:
        entry = self.spec.entry
        return EntryPoint(
            url=entry.url,
            payloads=entry.payloads,
            method=entry.method,
            prediction=entry.prediction,
            request_id_header=self.spec.request_id_header,
            served_by_header=entry.served_by_header,
            model_version_header=entry.model_version_header,
            degraded_header=entry.degraded_header,
        )

    @property
    def toxiproxy_url(self) -> str:
        return self.spec.toxiproxy or ""

    def services(self) -> set[str]:
        """The services faults may touch (opt-in)."""
        return set(self.spec.services)

    def zones(self) -> dict[str, tuple[str, ...]]:
        """Zone -> its services (compose label `failover.zone`), for the zones whose every service is opted in."""
        return self._zones

    @cached_property
    def _zones(self) -> dict[str, tuple[str, ...]]:
        """Read from the compose file once: validation, completion and every run ask again."""
        by_zone: dict[str, list[str]] = {}
        for service in load_stack_spec(self.spec.compose_file, os.environ).services.values():
            if service.zone is not None:
                by_zone.setdefault(service.zone, []).append(service.name)
        return {zone: tuple(names) for zone, names in by_zone.items() if set(names) <= self.services()}

    def fault_context(self, stack: Stack) -> FaultContext:
        """What faults on this target act through, on `stack`."""
        return FaultContext(
            stack, self.toxiproxy_url, self.proxy_names(), self.entry, self.model_access(), self.zones()
        )

    def hops(self) -> set[str]:
        """The hops faults may touch, as Toxiproxy proxy names."""
        return {normalize_hop(name) for name in self.spec.hops}

    def proxy_names(self) -> dict[str, str]:
        """Hop -> the Toxiproxy proxy faults on it act on (the hop's own name unless the target says)."""
        return {normalize_hop(name): hop.proxy or normalize_hop(name) for name, hop in self.spec.hops.items()}

    # its models (model faults act on their registries)

    def model_names(self) -> list[str]:
        return list(self.spec.models)

    def model(self, name: str) -> Model:
        """The declared model `name`; BadInput naming the declared ones otherwise."""
        if name not in self.spec.models:
            close = get_close_matches(name, list(self.spec.models), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            declared = ", ".join(self.spec.models) or "none"
            raise BadInput(
                f"target '{self.name}' declares no model '{name}'",
                f"{hint}its models: {declared} (declare one under `models:` in {self.file})",
            )
        return self.spec.models[name]

    def model_registry(self, name: str) -> FileRegistry:
        """The registry holding the versions and aliases of model `name`."""
        return self.model(name).registry.open()

    def faulty_library(self, name: str) -> FaultyLibrary:
        """The bad artifacts a fault may push as versions of model `name`."""
        model = self.model(name)
        if model.faulty is None:
            raise BadInput(
                f"model '{name}' of target '{self.name}' declares no faulty library to push from",
                f"add `faulty: DIR` (a folder with index.json) under models.{name} in {self.file}",
            )
        return FaultyLibrary(model.faulty)

    def golden(self, name: str) -> list[Payload]:
        """Labelled requests for model `name` ([] when none are declared)."""
        golden = self.model(name).golden
        return [] if golden is None else load_payloads(golden)

    def model_access(self) -> dict[str, ModelAccess]:
        """Every declared model's registry and faulty library: what model faults act through."""
        return {
            name: ModelAccess(name, model.registry.open().root, model.faulty) for name, model in self.spec.models.items()
        }

    def rollout_events(self) -> list[dict[str, Any]] | None:
        """Every decision the models' rollout controllers report (`rollout_events:`), oldest first;
        None when no model declares one, or when one did not answer (the phases are then not measured)."""
        urls = [model.rollout_events for model in self.spec.models.values() if model.rollout_events]
        if not urls:
            return None
        import httpx

        events: list[dict[str, Any]] = []
        for url in urls:
            try:
                answer = httpx.get(url, timeout=5.0)
                answer.raise_for_status()
                events += [event for event in answer.json() if isinstance(event, dict)]
            except (httpx.HTTPError, ValueError, TypeError):
                return None
        return sorted(events, key=lambda event: float(event.get("t", 0.0)))

    def models_served_by(self, service: str) -> list[str]:
        return [name for name, model in self.spec.models.items() if service in model.served_by]

    def heal_models(self) -> list[str]:
        """Undo every model fault the target's registries still carry (for `failover heal`)."""
        from harness.models.heal import heal_registry

        registries = [model.registry.open() for model in self.spec.models.values()]
        return [line for registry in registries if registry.root.exists() for line in heal_registry(registry)]

    # what it says about itself

    def signal_for(self, fault_target: str) -> str | None:
        """The server whose down-signal shows a fault on `fault_target`; None when none is declared."""
        server = fault_target
        for name, hop in self.spec.hops.items():
            if normalize_hop(name) == normalize_hop(fault_target):
                server = hop.signal or name.split("->")[1].strip()
        return server if server in self.spec.signals else None

    def not_measured(self, fault_target: str) -> dict[str, str]:
        """Metric -> why this target cannot measure it for a fault on `fault_target`."""
        missing = {}
        if self.signal_for(fault_target) is None:
            missing["ttd"] = f"target '{self.name}' declares no down-signal for {fault_target}"
        if self.spec.store is None:
            missing["rpo"] = f"target '{self.name}' declares no store to read back"
            missing["lost_writes"] = missing["rpo"]
        if self.spec.entry.prediction is None:
            missing["accuracy"] = f"target '{self.name}' declares no entry.prediction"
        elif not self._payloads_labelled:
            missing["accuracy"] = f"the payloads of target '{self.name}' carry no labels"
        entry = self.spec.entry
        if entry.degraded_header is None:
            missing["degraded_share"] = f"target '{self.name}' declares no entry.degraded_header"
        if entry.served_by_header is None or entry.model_version_header is None:
            missing["versions"] = (
                f"target '{self.name}' declares no entry.served_by_header and model_version_header: "
                "which replica served which version is unknown"
            )
        return missing

    @cached_property
    def _payloads_labelled(self) -> bool:
        """Read once, not once per fault scored."""
        return any(payload.label is not None for payload in load_payloads(self.spec.entry.payloads))

    def watchers(self) -> list[StateWatch]:
        from harness.observe import signals

        return signals.watchers(self.spec.signals)

    def lost_write_checker(self) -> LostWriteChecker | None:
        from harness.observe.stores import checker_for

        return None if self.spec.store is None else checker_for(self.spec.store)

    def facts(self) -> dict[str, Any]:
        """Which target ran, for the journal and the reports."""
        compose = self.spec.compose_file
        return {
            "name": self.name,
            "kind": self.kind,
            "file": str(self.file),
            "compose_file": str(compose),
            "compose_sha256": _sha256(compose) if compose.exists() else None,
            "attach": self.spec.attach,
            "models": {
                name: {"registry": model.registry.describe(), "served_by": model.served_by}
                for name, model in self.spec.models.items()
            },
        }

    # lifecycle

    def bring_up(self, stack: Stack, progress: bool, timeout_s: float | None = None) -> None:
        """Up (unless attached) and ready: every pollable signal UP and the entry answering."""
        timeout_s = self.spec.ready_timeout if timeout_s is None else timeout_s
        if not self.spec.attach:
            stack.up(timeout_s=timeout_s, progress=progress)
        try:
            self.wait_ready(timeout_s)
        except BaseException:
            self.tear_down(stack)
            raise

    def tear_down(self, stack: Stack) -> bool:
        """Bring the stack down unless attached; whether it went down (a stack that is down keeps no fault)."""
        if self.spec.attach:
            return False
        stack.down()
        return True

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Until every pollable signal says UP and the entry answers one payload.

        A replica is healthy a moment before a load balancer's own checks pass;
        a run starts with the redundancy it tests."""
        from harness.observe import signals

        deadline = time.monotonic() + (self.spec.ready_timeout if timeout_s is None else timeout_s)
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = signals.current_states(self.spec.signals)
            if all(state == "UP" for state in states.values()):
                break
            time.sleep(_READY_POLL_S)
        else:
            down = {server: state for server, state in states.items() if state != "UP"}
            raise StackNotHealthy(
                f"target '{self.name}': not every server is UP within the ready timeout: {down}",
                "read those services' logs; raise ready_timeout in the target file if they are just slow",
            )
        self._wait_entry(deadline)

    def _wait_entry(self, deadline: float) -> None:
        from harness.load.probe import PredictionClient

        payload = load_payloads(self.spec.entry.payloads)[0]
        client = PredictionClient(self.entry, timeout_s=2.0)
        try:
            while True:
                record = client.send(payload)
                if record.ok:
                    return
                if time.monotonic() >= deadline:
                    raise StackNotHealthy(
                        f"target '{self.name}': the entry {self.spec.entry.url} does not answer: "
                        f"{record.error or f'HTTP {record.status}'}",
                        "check entry.url, entry.method and entry.prediction against what the stack answers",
                    )
                time.sleep(_READY_POLL_S)
        finally:
            client.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

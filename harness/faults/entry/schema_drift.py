"""`schema_drift`: while it lasts, a client sends malformed requests to the target's entry point.

A well-built server answers each with a 4xx naming what is wrong, and keeps
serving everyone else: never a 5xx, never a crash, never a 200 for garbage.
The fault judges the first itself (`malformed_rejected`: the share of its
requests answered 4xx); the second is the run's ordinary availability.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.entry.malformations import KINDS, Malformation, malformed
from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads

if TYPE_CHECKING:
    import httpx

    from harness.result import SLOResult

REQUEST_TIMEOUT_S = 5.0


class SchemaDriftParams(FaultParams):
    action: Literal["schema_drift"]
    rate: float = Field(20.0, gt=0, le=500)
    """Malformed requests per second, on top of the load."""
    kinds: list[Malformation] = Field(default_factory=lambda: list(KINDS), min_length=1)
    """Which malformations, sent in turn: missing_field, renamed_field, wrong_type, short_list, long_list,
    nan, not_json, empty."""


@dataclass
class SchemaDrift:
    entry: EntryPoint
    rate: float
    kinds: list[Malformation]
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(kind, '4xx' | '2xx' | '5xx' | 'error') -> requests."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _sender: threading.Thread | None = None

    def inject(self) -> None:
        bodies = [payload.body() for payload in load_payloads(self.entry.payloads)[:50]]
        self._stop.clear()
        self._sender = threading.Thread(target=self._send, args=(bodies,), name="schema-drift", daemon=True)
        self._sender.start()

    def revert(self) -> None:
        self._stop.set()
        if self._sender is not None:
            self._sender.join(timeout=REQUEST_TIMEOUT_S + 1)

    def describe(self) -> str:
        return f"schema_drift at {self.entry.url} ({self.rate:g}/s: {', '.join(self.kinds)})"

    def checks(self) -> list[SLOResult]:
        """The fault's own verdict: every malformed request answered 4xx."""
        from harness.result import SLOResult

        sent = sum(self.outcomes.values())
        if not sent:
            why = "no malformed request was sent"
            return [SLOResult(name="malformed_rejected", target=1.0, measured=None, passed=False, unit="fraction",
                              not_measured=why)]
        rejected = sum(n for (_, outcome), n in self.outcomes.items() if outcome == "4xx")
        share = rejected / sent
        return [SLOResult(name="malformed_rejected", target=1.0, measured=share, passed=share >= 1.0, unit="fraction")]

    def findings(self) -> dict[str, dict[str, int]]:
        """Per malformation kind, how many requests got each outcome (for the journal and reports)."""
        found: dict[str, dict[str, int]] = {}
        for (kind, outcome), count in sorted(self.outcomes.items()):
            found.setdefault(kind, {})[outcome] = count
        return found

    def _send(self, bodies: list[object]) -> None:
        pairs = itertools.cycle([(kind, body) for body in bodies for kind in self.kinds])  # every kind in turn
        import httpx  # here: importing the catalogue must stay cheap (`failover inject`)

        interval, next_at = 1.0 / self.rate, time.monotonic()
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
            while not self._stop.is_set():
                kind, body = next(pairs)
                self.outcomes[(kind, self._outcome(client, malformed(body, kind)))] += 1
                next_at += interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _outcome(self, client: httpx.Client, content: bytes) -> str:
        import httpx

        headers = {"Content-Type": "application/json"}
        try:
            status = client.request(self.entry.method, self.entry.url, content=content, headers=headers).status_code
        except httpx.HTTPError:
            return "error"
        return f"{status // 100}xx" if status // 100 in (2, 4, 5) else "error"


def build(params: SchemaDriftParams, context: FaultContext) -> SchemaDrift:
    if context.entry is None:
        raise ValueError("schema_drift needs the target's entry point")
    return SchemaDrift(context.entry, params.rate, list(params.kinds))


FAULT = register(
    FaultType("schema_drift", SchemaDriftParams, "entry", build, "malformed requests sent to the entry point; "
              "each must get a 4xx (never 5xx), judged as malformed_rejected")
)

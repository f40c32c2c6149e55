"""Every decision as an event with its evidence, kept in memory for GET /events and logged.

Kinds: detect (a version's window is bad), decide (rollback or promote chosen,
with the target), canary (a candidate starts on the canary replica), rollback
and promote (the alias change is written), verified (every replica that follows
the alias answers with the new version), registry_unavailable (a write failed;
the guardian retries).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Any

log = logging.getLogger("guardian.events")
KINDS = ("detect", "decide", "canary", "rollback", "promote", "verified", "registry_unavailable")


class EventLog:
    def __init__(self, limit: int = 2000) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def emit(self, kind: str, version: str | None, evidence: dict[str, Any]) -> dict[str, Any]:
        assert kind in KINDS, kind
        event = {"t": time.time(), "kind": kind, "version": version, "evidence": evidence}
        with self._lock:
            self._events.append(event)
        (log.warning if kind == "registry_unavailable" else log.info)("%s %s %s", kind, version, json.dumps(evidence))
        return event

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

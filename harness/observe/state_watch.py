"""What the stack says about its servers, recorded as (t, server, state) rows, one per change."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Self

import httpx

LISTEN_TIMEOUT_S = 5.0


class StateWatch(ABC):
    """A background thread (`_watch`) that `_record`s server states; only changes become rows."""

    def __init__(self, name: str) -> None:
        self._rows: list[dict[str, object]] = []
        self._last: dict[str, str] = {}
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=name, daemon=True)

    def __enter__(self) -> Self:
        """Start watching; returns once the watch listens (subscribed, or one poll done), so that
        nothing the stack says after this is missed. A source that never answers is waited for
        at most `LISTEN_TIMEOUT_S`."""
        self._thread.start()
        self._listening.wait(LISTEN_TIMEOUT_S)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def rows(self) -> list[dict[str, object]]:
        return list(self._rows)

    @abstractmethod
    def _watch(self) -> None:
        """Runs until `self._stop` is set; calls `_listen()` once it is listening."""

    def _listen(self) -> None:
        self._listening.set()

    def _record(self, t: float, server: str, state: str) -> None:
        if self._last.get(server) != state:
            self._last[server] = state
            self._rows.append({"t": t, "server": server, "state": state})


class PollingWatch(StateWatch):
    """A watch that asks its source at `hz` over one long-lived HTTP client (a new one per call costs
    milliseconds of CPU) and records each server's state as it changes."""

    def __init__(self, name: str, hz: float) -> None:
        super().__init__(name)
        self.interval_s = 1.0 / hz

    @abstractmethod
    def _read(self, client: httpx.Client) -> dict[str, str]:
        """One reading: server -> state; leave a server out when its source said nothing this round."""

    def _watch(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                for server, state in self._read(client).items():
                    self._record(time.time(), server, state)
                self._listen()
                self._stop.wait(max(0.0, self.interval_s - (time.perf_counter() - started)))

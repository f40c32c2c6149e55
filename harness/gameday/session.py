"""The live state of one run's game day: notes, the runbook's gates, a paused clock, an abort request.

The control channel's threads (`control.py`) change it; the runner's main thread
reads it. Notes are journaled by the main thread only (`drain`), since the
journal's writer is not shared between threads. An abort interrupts the main
thread with SIGINT, so it ends the run exactly as Ctrl-C does (every fault
reverted, verdict `aborted`), even while the runner sleeps.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rich.markup import escape

from harness.journal import Journal
from harness.result import Note
from harness.scenario import RunbookStep

Action = Callable[[], None]


@dataclass
class Gate:
    """A runbook gate the timeline waits at."""

    index: int
    step: RunbookStep
    opened_at: float
    """Monotonic seconds when the timeline reached it."""


@dataclass
class _Clock:
    """Seconds the timeline's clock stood still (gates and pauses), for shifting later events."""

    held_s: float = 0.0
    since: float | None = None
    """Monotonic start of the current hold; None: running."""

    def hold(self, now: float) -> None:
        if self.since is None:
            self.since = now

    def release(self, now: float) -> None:
        if self.since is not None:
            self.held_s += now - self.since
            self.since = None

    def total(self, now: float) -> float:
        return self.held_s + (0.0 if self.since is None else now - self.since)


@dataclass
class GameDay:
    """What people do to a running run. Thread-safe; `journal` is written from the main thread only."""

    journal: Journal
    runbook: list[RunbookStep] = field(default_factory=list)
    confirm_gates: bool = False
    """Confirm every gate the moment it opens (unattended runs: CI)."""
    say: Callable[[str], None] = lambda text: None
    """Shows a line to the person at the run's terminal (rich markup)."""
    notes: list[Note] = field(default_factory=list)
    step: str = ""
    """The runbook's latest instruction."""
    gate: Gate | None = None
    paused_by: str = ""
    abort_reason: str = ""
    live: bool = False
    """Between `start` and `stop`: an abort may interrupt the main thread."""
    _pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _clock: _Clock = field(default_factory=_Clock)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _main: int = field(default_factory=threading.get_ident)

    # --- from the control channel (any thread) ------------------------------------------------

    def note(self, text: str, author: str) -> Note:
        note = Note(t=time.time(), author=author, text=text)
        with self._lock:
            self.notes.append(note)
            self._pending.append(("note", {"at": note.t, "author": author, "text": text}))
        return note

    def abort(self, author: str) -> str:
        """Interrupt the run as Ctrl-C does; returns what happened, for the caller to show."""
        with self._lock:
            if self.abort_reason:
                return f"already aborting: {self.abort_reason}"
            if not self.live:
                return "the run is not observing (starting up or scoring): nothing to abort now"
            self.abort_reason = f"aborted by {author} (failover abort)"
            self._pending.append(("abort-requested", {"author": author}))
        signal.pthread_kill(self._main, signal.SIGINT)
        return self.abort_reason

    def confirm(self, author: str) -> str:
        with self._lock:
            gate = self.gate
            if gate is None:
                return "no gate is waiting"
            self._close_gate(gate, "confirmed", author)
        return f"confirmed: {_gate_text(gate)}"

    def pause(self, author: str) -> str:
        with self._lock:
            if self.paused_by:
                return f"already paused by {self.paused_by}"
            self.paused_by = author
            self._clock.hold(time.monotonic())
            self._pending.append(("timeline-paused", {"author": author}))
        return "timeline paused"

    def resume(self, author: str) -> str:
        with self._lock:
            if not self.paused_by:
                return "the timeline is not paused"
            self.paused_by = ""
            if self.gate is None:
                self._clock.release(time.monotonic())
            self._pending.append(("timeline-resumed", {"author": author}))
        return "timeline resumed"

    # --- from the runner (main thread) --------------------------------------------------------

    def start(self) -> None:
        self._main = threading.get_ident()
        self.live = True

    def stop(self) -> None:
        with self._lock:
            self.live = False
        self.drain()

    def held_s(self) -> float:
        """Seconds the timeline stood still so far: every later event moves by it."""
        with self._lock:
            return self._clock.total(time.monotonic())

    def timeline_clock(self) -> Callable[[], float]:
        """Seconds on the timeline's clock from now: the time that passed, less the time it stood still."""
        start, held = time.monotonic(), self.held_s()
        return lambda: time.monotonic() - start - (self.held_s() - held)

    def holding(self) -> bool:
        """The clock stands still now (a gate waits, or the timeline is paused)."""
        with self._lock:
            return self._clock.since is not None

    def events(self) -> list[tuple[float, Action]]:
        """The runbook as timeline events: (seconds on the timeline's clock, action)."""
        return [(step.at, partial(self._reach, index, step)) for index, step in enumerate(self.runbook)]

    def tick(self) -> str:
        """Journal what came in; close a gate past its timeout. Returns an abort reason, if the gate says so."""
        reason = ""
        with self._lock:
            gate = self.gate
            if gate is not None and time.monotonic() - gate.opened_at >= gate.step.gate_timeout:
                if gate.step.on_timeout == "continue":
                    self._close_gate(gate, "timed out, continuing", "timeout")
                else:
                    self._close_gate(gate, "timed out", "timeout")
                    reason = f"gate not confirmed within {gate.step.gate_timeout:g}s: {_gate_text(gate)}"
        self.drain()
        return reason

    def drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for event, fields in pending:
            self.journal.write(event, **fields)

    def snapshot(self) -> dict[str, Any]:
        """Everything a viewer shows of the game day (JSON-ready)."""
        with self._lock:
            gate = self.gate
            return {
                "step": self.step,
                "gate": None if gate is None else _gate_view(gate),
                "paused_by": self.paused_by,
                "held_s": self._clock.total(time.monotonic()),
                "aborting": self.abort_reason,
                "notes": [note.model_dump() for note in self.notes],
            }

    # --- internals (lock held where noted) ----------------------------------------------------

    def _reach(self, index: int, step: RunbookStep) -> None:
        if step.step:
            self.say(f"[bold cyan]runbook:[/] {escape(step.step)}")
        for expected in step.expect:
            self.say(f"  [cyan]expect:[/] {escape(expected)}")
        if step.gate and not self.confirm_gates:
            self.say(f"[bold yellow]gate: waiting up to {step.gate_timeout:g}s for `failover confirm` (or the dashboard)[/]")
        with self._lock:
            if step.step:
                self.step = step.step
            self._pending.append(("runbook-step", {"step": index, "text": step.step, "expect": step.expect}))
            if not step.gate:
                return
            self.gate = Gate(index, step, time.monotonic())
            self._clock.hold(self.gate.opened_at)
            self._pending.append(("gate-open", {"step": index, "timeout_s": step.gate_timeout}))
            if self.confirm_gates:
                self._close_gate(self.gate, "confirmed", "--confirm-gates")

    def _close_gate(self, gate: Gate, outcome: str, author: str) -> None:
        """Lock held."""
        self.gate = None
        if not self.paused_by:
            self._clock.release(time.monotonic())
        waited = time.monotonic() - gate.opened_at
        self._pending.append(("gate-closed", {"step": gate.index, "outcome": outcome, "author": author, "waited_s": waited}))


def _gate_text(gate: Gate) -> str:
    return gate.step.step or f"gate {gate.index + 1}"


def _gate_view(gate: Gate) -> dict[str, Any]:
    waited = time.monotonic() - gate.opened_at
    return {
        "index": gate.index,
        "text": _gate_text(gate),
        "waited_s": waited,
        "timeout_in_s": max(gate.step.gate_timeout - waited, 0.0),
        "on_timeout": gate.step.on_timeout or "abort",
    }


def current_user() -> str:
    """The default author of notes and confirmations."""
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "someone"

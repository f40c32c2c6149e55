"""`signal`: any signal sent to a service's main process (SIGTERM, SIGHUP, SIGINT, SIGUSR1, ...), as
`docker kill --signal` sends it. What the process does with it is the test: a graceful shutdown on SIGTERM,
a reload on SIGHUP, a crash. The runtime counts the service as stopped by hand (Docker sets
HasBeenManuallyStopped; the local supervisor does the same), so a process the signal ends stays down
until the revert starts it, on both backends; a process that survives the signal keeps running.
"""

from __future__ import annotations

import signal as signals
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import StartedOnRevert


class SignalParams(FaultParams):
    action: Literal["signal"]
    signal: str = Field(examples=["SIGTERM"])
    """A signal name (SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, ...); SIGKILL is `kill`, SIGSTOP `pause`."""

    @field_validator("signal")
    @classmethod
    def _known(cls, name: str) -> str:
        name = name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"
        if name not in signals.Signals.__members__:
            known = ", ".join(sorted(s for s in signals.Signals.__members__ if not s.startswith("SIGRT")))
            raise ValueError(f"'{name}' is not a signal; signals: {known}")
        return name


@dataclass
class Signal(StartedOnRevert):
    name: str = "SIGTERM"

    def inject(self) -> None:
        self.stack.signal(self.service, int(signals.Signals[self.name]))

    def describe(self) -> str:
        return f"{self.name} to {self.service}"


def build(params: SignalParams, context: FaultContext) -> Signal:
    return Signal(context.stack, params.target, params.signal)


FAULT = register(FaultType("signal", SignalParams, "service", build, "any signal to the service's processes"))

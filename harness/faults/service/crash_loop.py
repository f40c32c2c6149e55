"""`crash_loop`: the service killed every `every` and started again `down_for` later, for as long as the
fault lasts (a crash-looping replica: the hardest pattern for health checks that need several failures)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, model_validator

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.faults.service import service_state
from harness.stack import Stack
from harness.units import Duration
from harness.yaml_model import field_not_allowed


class CrashLoopParams(FaultParams):
    action: Literal["crash_loop"]
    every: Duration = Field(5.0, gt=0)
    """From one kill to the next."""
    down_for: Duration = 1.0
    """How long each crash keeps it down before it is started again (less than `every`)."""

    @model_validator(mode="after")
    def _down_within_the_period(self) -> CrashLoopParams:
        if self.down_for >= self.every:
            why = f"down_for ({self.down_for:g}s) must be shorter than every ({self.every:g}s)"
            raise field_not_allowed("down_for", why, "each crash keeps it down for part of the period")
        return self


@dataclass
class CrashLoop:
    stack: Stack
    service: str
    every: float
    down_for: float
    crashes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _loop: threading.Thread | None = field(default=None, init=False, repr=False)
    _failure: BaseException | None = field(default=None, init=False, repr=False)

    def inject(self) -> None:
        """The first crash happens now, in the caller (its errors are the inject's); the rest in a thread."""
        self._crash()
        self._stop.clear()
        self._loop = threading.Thread(target=self._run, name=f"crash-loop-{self.service}", daemon=True)
        self._loop.start()

    def _crash(self) -> None:
        self.stack.kill(self.service)
        self.crashes += 1

    def _run(self) -> None:
        try:
            while True:
                if self._stop.wait(self.down_for):
                    return
                self.stack.start(self.service)
                if self._stop.wait(self.every - self.down_for):
                    return
                self._crash()
        except BaseException as error:  # noqa: BLE001  (kept for revert to raise: the loop must not die silently)
            self._failure = error

    def revert(self) -> None:
        self._stop.set()
        if self._loop is not None:
            self._loop.join()
        if service_state(self.stack, self.service) != "running":
            self.stack.start(self.service)
        if self._failure is not None:
            raise self._failure

    def describe(self) -> str:
        return f"crash loop {self.service} (killed every {self.every:g}s, down {self.down_for:g}s each time)"


def build(params: CrashLoopParams, context: FaultContext) -> CrashLoop:
    return CrashLoop(context.stack, params.target, params.every, params.down_for)


FAULT = register(FaultType("crash_loop", CrashLoopParams, "service", build, "killed every N s, started again"))

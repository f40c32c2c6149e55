"""`cpu_throttle` and `memory_squeeze`: a noisy neighbour or a mis-sized pod, as container limits
changed on the running service (compose only); each revert lifts the limit again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultParams, FaultType, register
from harness.stack import Stack

COMPOSE_ONLY = frozenset({"compose"})


class CpuThrottleParams(FaultParams):
    action: Literal["cpu_throttle"]
    cpus: float = Field(gt=0, le=64, examples=[0.1])
    """CPUs the service may use (0.1: a tenth of one core)."""


class MemorySqueezeParams(FaultParams):
    action: Literal["memory_squeeze"]
    megabytes: int = Field(ge=6, examples=[64])
    """Memory limit, MiB (swap included): below what the service uses, the kernel's OOM killer acts."""


@dataclass
class Squeeze:
    stack: Stack
    service: str
    cpus: float | None = None
    memory_bytes: int | None = None

    def inject(self) -> None:
        self.stack.limit(self.service, self.cpus, self.memory_bytes)

    def revert(self) -> None:
        self.stack.unlimit(self.service)

    def describe(self) -> str:
        if self.cpus is not None:
            return f"cpu throttle {self.service} to {self.cpus:g} CPUs"
        return f"memory squeeze {self.service} to {(self.memory_bytes or 0) // 2**20} MiB"


def _cpu(params: CpuThrottleParams, context: FaultContext) -> Squeeze:
    return Squeeze(context.stack, params.target, cpus=params.cpus)


def _memory(params: MemorySqueezeParams, context: FaultContext) -> Squeeze:
    return Squeeze(context.stack, params.target, memory_bytes=params.megabytes * 2**20)


CPU = register(
    FaultType("cpu_throttle", CpuThrottleParams, "service", _cpu, "the service's CPU limited", backends=COMPOSE_ONLY)
)
MEMORY = register(
    FaultType(
        "memory_squeeze", MemorySqueezeParams, "service", _memory, "the service's memory limited", backends=COMPOSE_ONLY
    )
)

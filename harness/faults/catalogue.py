"""Every fault type: importing this module registers them all (one line per type).

`FaultSpec` is the timeline entry a scenario holds: the union of every type's
parameters, told apart by `action`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from harness.faults.base import (
    Fault,
    FaultContext,
    FaultParams,
    fault_type,
    fault_types,
)
from harness.faults.entry import schema_drift  # noqa: F401
from harness.faults.hop import (
    bandwidth,  # noqa: F401
    latency,  # noqa: F401
    limit_data,  # noqa: F401
    partition,  # noqa: F401
    reset_peer,  # noqa: F401
    slicer,  # noqa: F401
    slow_close,  # noqa: F401
    timeout,  # noqa: F401
)
from harness.faults.model import (
    corrupt_artifact,  # noqa: F401
    partial_copy,  # noqa: F401
    push_version,  # noqa: F401
    registry_down,  # noqa: F401
)

# Registration, one line per type; the order here is the order of the docs and of error messages.
from harness.faults.service import (
    crash_loop,  # noqa: F401
    disconnect,  # noqa: F401
    kill,  # noqa: F401, I001
    pause,  # noqa: F401
    restart,  # noqa: F401
    squeeze,  # noqa: F401  (cpu_throttle, memory_squeeze)
    stop,  # noqa: F401
    zone_loss,  # noqa: F401
)

FaultSpec = Annotated[Union[tuple(kind.params for kind in fault_types())], Field(discriminator="action")]  # noqa: UP007
_SPEC = TypeAdapter(FaultSpec)


def parse_fault(data: dict[str, Any]) -> FaultParams:
    """A timeline entry as journaled (`model_dump(mode="json")`) back to its typed parameters."""
    return _SPEC.validate_python(data)


def build_fault(spec: FaultParams, context: FaultContext) -> Fault:
    return fault_type(spec.action).build(spec, context)

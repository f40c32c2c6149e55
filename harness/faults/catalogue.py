"""Every fault type: importing this module registers them all (one line per type).

`FaultSpec` is the timeline entry a scenario holds: the union of every type's
parameters, told apart by `action`.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from harness.faults.base import Fault, FaultContext, FaultParams, fault_type, fault_types
# Registration: one line per type, in the order of the docs and of error messages.
# isort: off
from harness.faults.service import kill  # noqa: F401
from harness.faults.service import stop  # noqa: F401
from harness.faults.service import pause  # noqa: F401
from harness.faults.service import restart  # noqa: F401
from harness.faults.service import signal_service  # noqa: F401  (signal)
from harness.faults.service import crash_loop  # noqa: F401
from harness.faults.service import disconnect  # noqa: F401
from harness.faults.service import squeeze  # noqa: F401  (cpu_throttle, memory_squeeze)
from harness.faults.service import zone_loss  # noqa: F401
from harness.faults.hop import latency  # noqa: F401
from harness.faults.hop import timeout  # noqa: F401
from harness.faults.hop import partition  # noqa: F401
from harness.faults.hop import bandwidth  # noqa: F401
from harness.faults.hop import slow_close  # noqa: F401
from harness.faults.hop import reset_peer  # noqa: F401
from harness.faults.hop import slicer  # noqa: F401
from harness.faults.hop import limit_data  # noqa: F401
from harness.faults.model import push_version  # noqa: F401
from harness.faults.model import corrupt_artifact  # noqa: F401
from harness.faults.model import partial_copy  # noqa: F401
from harness.faults.model import registry_down  # noqa: F401
from harness.faults.entry import schema_drift  # noqa: F401
# isort: on

FaultSpec = Annotated[Union[tuple(kind.params for kind in fault_types())], Field(discriminator="action")]  # noqa: UP007


@cache
def _spec_adapter() -> TypeAdapter[FaultParams]:
    """Built on first use: compiling the whole union costs every command that imports the catalogue."""
    return TypeAdapter(FaultSpec)


def parse_fault(data: dict[str, Any]) -> FaultParams:
    """A timeline entry as journaled (`model_dump(mode="json")`) back to its typed parameters."""
    return _spec_adapter().validate_python(data)


def build_fault(spec: FaultParams, context: FaultContext) -> Fault:
    return fault_type(spec.action).build(spec, context)

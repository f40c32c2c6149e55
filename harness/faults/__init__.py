"""Faults: one module per fault type, registered by name (see `base.py` for how a type declares itself)."""

from harness.faults.base import (
    Fault,
    FaultContext,
    FaultParams,
    FaultType,
    acting_on,
    fault_type,
    fault_types,
    normalize_hop,
)
from harness.faults.catalogue import FaultSpec, build_fault, parse_fault

__all__ = [
    "Fault",
    "FaultContext",
    "FaultParams",
    "FaultSpec",
    "FaultType",
    "acting_on",
    "build_fault",
    "fault_type",
    "fault_types",
    "normalize_hop",
    "parse_fault",
]

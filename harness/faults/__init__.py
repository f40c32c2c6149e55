"""Faults: one small class per fault type, registered by name.

Each fault has `inject()`, `revert()` and `describe()`; `build_fault` turns a
scenario's timeline entry into one. Importing this package registers every
fault family.
"""

from harness.faults import network, process  # noqa: F401  (registration)
from harness.faults.base import FAULT_TYPES, Fault, FaultContext, build_fault

__all__ = ["FAULT_TYPES", "Fault", "FaultContext", "build_fault"]

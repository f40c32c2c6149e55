"""failover-harness: proves whether an ML serving system really fails over fast."""

__version__ = "0.1.0"
"""The one place the version is written (pyproject.toml reads it): no package metadata lookup at start-up."""

"""failover-harness: proves whether an ML serving system really fails over fast."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("failover-harness")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

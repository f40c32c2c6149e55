"""`failover` starts without the heavy libraries: an ad-hoc `failover inject` or `failover faults` must
not wait for pandas, matplotlib, Locust or gevent, which only runs, reports and comparisons use
(their commands import them when they run). Checked by what is imported, never by a clock."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "matplotlib", "numpy", "locust", "gevent", "pyarrow", "docker")


def test_the_cli_imports_none_of_the_heavy_libraries() -> None:
    code = f"import sys, json, harness.cli; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == [], f"importing harness.cli loads {loaded}: import them inside the command that needs them"

"""What a journal's `run-start` records about the stack and target, and the stack read back from it.

`heal` (and `failover faults`) act on a journal alone, long after the process
that wrote it is gone: everything needed to reach the stack and revert a fault
is here, in plain JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError
from harness.stack import Stack, StackSettings
from harness.targets import Target


def run_facts(stack: Stack, target: Target) -> dict[str, Any]:
    settings = stack.settings
    return {
        "backend": stack.backend,
        "project": settings.project,
        "compose_file": str(settings.compose_file),
        "fixtures_dir": str(settings.fixtures_dir),
        "gateway_port": settings.gateway_port,
        "stats_port": settings.stats_port,
        "toxiproxy_port": settings.toxiproxy_port,
        "override_files": [str(path) for path in settings.override_files],
        "reference_image": settings.reference_image,
        "build": settings.build,
        "toxiproxy_url": target.toxiproxy_url,
        "proxies": target.proxy_names(),
        "models": {name: access.to_json() for name, access in target.model_access().items()},
        "zones": target.zones(),
        "target": target.facts(),
    }


def settings_from_run(run: dict[str, Any]) -> StackSettings:
    """The stack a journaled run used, as recorded in its `run-start` entry."""
    if not run:
        raise InfrastructureError("the journal has no run-start entry, so its stack is unknown")
    return StackSettings(
        project=run["project"],
        compose_file=Path(run["compose_file"]),
        fixtures_dir=Path(run["fixtures_dir"]),
        gateway_port=run["gateway_port"],
        stats_port=run["stats_port"],
        toxiproxy_port=run["toxiproxy_port"],
        override_files=tuple(Path(path) for path in run.get("override_files", ())),
        reference_image=run.get("reference_image", True),
        build=run.get("build", False),
    )

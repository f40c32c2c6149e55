"""A user's own Compose stack as a target: brought up with a generated override (never edited),
or attached to when it is already running.

The override (kept in the run's folder) adds the harness's Toxiproxy on every
hop declared with `upstream:`; see `compose_override.py` for the mechanism
and its limits.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from harness.errors import BadInput
from harness.stack import Backend, Stack, StackSettings, open_stack
from harness.stack.spec import interpolate
from harness.targets.compose_override import HopInsertion, hop_override
from harness.targets.loader import load_target
from harness.targets.target import Target

REFERENCE_IMAGE = "failover-stack:latest"


class ComposeFileTarget(Target):
    kind = "compose"

    @classmethod
    def from_file(cls, path: Path) -> ComposeFileTarget:
        return cls(load_target(path), path.resolve())

    def open_stack(self, backend: Backend | None, run_dir: Path) -> Stack:
        if backend not in (None, "compose"):
            raise BadInput(
                f"target '{self.name}' is a Compose stack: it runs on the compose backend, not '{backend}'",
                "drop --backend local (the local backend runs only the reference stack)",
            )
        settings = StackSettings(
            project=self.spec.compose_project,
            compose_file=self.spec.compose_file,
            override_files=self._override(run_dir),
            reference_image=bool(self._insertions()),
            build=True,
        )
        return open_stack("compose", settings)

    def _insertions(self) -> list[HopInsertion]:
        return [HopInsertion.parse(name, hop.upstream) for name, hop in self.spec.hops.items() if hop.upstream]

    def _override(self, run_dir: Path) -> tuple[Path, ...]:
        insertions = self._insertions()
        if not insertions or self.spec.attach:
            return ()
        assert self.spec.toxiproxy is not None
        compose = interpolate(yaml.safe_load(self.spec.compose_file.read_text()), os.environ)
        port = int(self.spec.toxiproxy.rsplit(":", 1)[1])
        override = hop_override(compose, insertions, toxiproxy_image=REFERENCE_IMAGE, toxiproxy_api_port=port)
        written = override.write(run_dir)
        return tuple(path for path in written if path.suffix in (".yml", ".yaml"))

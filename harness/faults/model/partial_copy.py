"""`partial_copy`: a new version whose artifact is still being copied, in pieces over `copy_time`,
while the alias already points at it (a copy racing a reload)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from harness.faults.base import FaultContext, FaultType, register
from harness.faults.model import AliasParams, model_access, revert_alias, source
from harness.models import undo
from harness.models.file_registry import FileRegistry, atomic_write, sha256_hex
from harness.units import Duration

PIECES = 10


class PartialCopyParams(AliasParams):
    action: Literal["partial_copy"]
    copy_time: Duration = Field(examples=["5s"])
    """How long the copy takes to complete (a tenth is there when the alias moves)."""


@dataclass
class PartialCopy:
    registry: FileRegistry
    alias: str
    seconds: float
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _writer: threading.Thread | None = field(default=None, init=False, repr=False)

    def inject(self) -> None:
        origin, entry, data = source(self.registry, self.alias)
        version = self.registry.next_version()
        record = undo.begin_push(self.registry, self.alias, version)
        relative = f"{version}/{Path(str(entry['path'])).name}"
        target = self.registry.root / relative
        self.registry.make_dir(target.parent)
        pieces = _pieces(data, PIECES)
        atomic_write(target, pieces[0])
        self.registry.add_entry(
            version,
            relative,
            sha256_hex(data),
            dict(entry.get("metrics") or {}),
            entry.get("format"),
            note=f"failover-harness fault: a partial copy of {origin}",
        )
        self.registry.set_alias(self.alias, version)
        undo.finish(self.registry, record)
        self._stop.clear()
        self._writer = threading.Thread(target=self._copy, args=(target, pieces[1:]), daemon=True, name="partial-copy")
        self._writer.start()

    def _copy(self, target: Path, rest: list[bytes]) -> None:
        pause = self.seconds / max(len(rest), 1)
        with open(target, "ab") as handle:
            for piece in rest:
                if self._stop.wait(pause):
                    return
                handle.write(piece)
                handle.flush()

    def revert(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        revert_alias(self.registry, self.alias)

    def describe(self) -> str:
        return f"partial copy of '{self.alias}' as a new version over {self.seconds:g}s ({self.registry.root})"


def _pieces(data: bytes, count: int) -> list[bytes]:
    size = max(1, -(-len(data) // count))
    return [data[start : start + size] for start in range(0, len(data), size)] or [b""]


def build(params: PartialCopyParams, context: FaultContext) -> PartialCopy:
    return PartialCopy(model_access(context, params.target).open_registry(), params.alias, params.copy_time)


FAULT = register(
    FaultType("partial_copy", PartialCopyParams, "model", build, "the alias moved to a version still being copied")
)

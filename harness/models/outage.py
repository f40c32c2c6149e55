"""A file registry made unavailable, and brought back exactly as it was.

Renaming the registry folder would not do: a container bind-mounts the folder
itself, and keeps seeing it after a rename on the host. Permissions would not
do either: root (in the containers, and often the harness) ignores them.
Instead, everything in the folder is moved into a sibling folder
(`.<name>.failover-down`, on the same file system, so each move is a rename
that keeps inodes, modes and times), and a non-empty folder named
`manifest.json` takes the manifest's place:

- readers fail: the manifest is a directory (EISDIR), artifacts are gone (ENOENT);
- writers fail: replacing the manifest (`os.replace` onto a non-empty folder)
  is refused, so no version or alias can be committed.

The sibling folder's existence is the record `heal` needs: `bring_back`
removes what was written into the registry while it was down (a writer's
temporary files, half-made version folders) and moves every entry back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.models.file_registry import (
    MANIFEST,
    FileRegistry,
    RegistryError,
    atomic_write,
)

MARKER = "REGISTRY-DOWN"


def aside(registry: FileRegistry) -> Path:
    return registry.root.parent / f".{registry.root.name}.failover-down"


def is_down(registry: FileRegistry) -> bool:
    return aside(registry).exists()


def take_down(registry: FileRegistry) -> None:
    registry.check_writable()
    folder = aside(registry)
    if folder.exists():
        raise RegistryError(
            f"registry {registry.root} is already down ({folder} exists)", "`failover heal` brings it back"
        )
    if not (registry.root / MANIFEST).is_file():
        raise RegistryError(f"{registry.root} has no {MANIFEST}: not a file registry that is up")
    folder.mkdir(mode=0o700)
    for entry in sorted(registry.root.iterdir()):
        os.rename(entry, folder / entry.name)
    placeholder = registry.root / MANIFEST
    registry.make_dir(placeholder)
    atomic_write(placeholder / MARKER, b"this model registry is down: a failover-harness fault (failover heal)\n")


def bring_back(registry: FileRegistry) -> bool:
    """Restore the registry from its aside folder; False when it was not down."""
    folder = aside(registry)
    if not folder.is_dir():
        return False
    kept = {entry.name for entry in folder.iterdir()}
    for entry in registry.root.iterdir():  # the placeholder, and whatever was written while down
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for name in sorted(kept):
        os.rename(folder / name, registry.root / name)
    folder.rmdir()
    return True

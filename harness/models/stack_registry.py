"""Each stack's own writable model registry: a copy of `fixtures/models` made at `up`, removed at `down`.

Model faults write to the registry, and the committed fixtures must never
change, so a stack's model servers read `FAILOVER_REGISTRY` (mounted
read-write at `/registry` on the compose backend, the host path on the local
one): `<state dir>/registries/<project>/models`. The project folder also
holds the aside folder of a registry outage (`outage.py`), so removing it
leaves nothing behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.stack.state import private_dir, remove_state_tree, state_root


def registry_home(project: str) -> Path:
    return state_root() / "registries" / project


def registry_path(project: str) -> Path:
    """Where the stack of `project` keeps its registry (it exists between `up` and `down`)."""
    return registry_home(project) / "models"


def provision(project: str, seed: Path, fresh: bool) -> Path:
    """The stack's registry, copied from `seed` when `fresh` or missing (an empty one without a seed).

    Not fresh: a stack that is already up keeps the registry its servers read.
    """
    target = registry_path(project)
    if target.exists() and not fresh:
        return target
    discard(project)
    private_dir(registry_home(project).parent)
    private_dir(registry_home(project))
    if seed.is_dir():
        shutil.copytree(seed, target, ignore=shutil.ignore_patterns("__pycache__", ".failover"))
    else:
        target.mkdir()  # the model servers report the missing manifest, as they would with an empty seed
    _make_private(target)
    return target


def _make_private(root: Path) -> None:
    """Like the rest of the state directory: the user's only (the stack image runs as root, which reads it)."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)


def discard(project: str) -> None:
    home = registry_home(project)
    if home.exists():
        remove_state_tree(home)

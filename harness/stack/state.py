"""The harness's state directory: private to the user, and the only place it deletes folders in.

`FAILOVER_STATE_DIR` (default `~/.local/state/failover-harness`) holds local
stacks (plan.json with their environment, logs, Redis dumps) and run
journals: directories are 0700 and files 0600, since other local users have
no business reading them.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from harness.errors import InfrastructureError

_SOCKET_KEY = "socket.key"


def state_root() -> Path:
    """The state directory, created private (0700) if it is not there.

    The default one is made private even if an older version created it open; a folder
    the user chose with FAILOVER_STATE_DIR keeps its mode (it could be a shared one).
    """
    configured = os.environ.get("FAILOVER_STATE_DIR")
    if configured is None:
        return private_dir(Path.home() / ".local" / "state" / "failover-harness")
    path = Path(configured)
    return path if path.is_dir() else private_dir(path)


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can enter, even if it existed (missing parents are created as usual)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask, and an existing folder keeps its own
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), replacing any earlier one."""
    path.unlink(missing_ok=True)  # an existing file would keep its mode
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def remove_state_tree(path: Path) -> None:
    """`shutil.rmtree(path)`, only for a real folder strictly inside the state directory."""
    root = state_root().resolve()
    resolved = path.resolve()
    if path.is_symlink() or resolved == root or not resolved.is_relative_to(root):
        raise InfrastructureError(
            f"refusing to delete {path} (resolves to {resolved}): it is not a folder inside the state directory {root}",
            "check FAILOVER_STATE_DIR and the project name; remove the folder by hand if it is really yours",
        )
    shutil.rmtree(resolved)


def socket_key() -> bytes:
    """A random secret of this state directory (0600): it names control sockets others cannot predict."""
    path = state_root() / _SOCKET_KEY
    if not path.exists():
        draft = path.with_name(f"{_SOCKET_KEY}.{os.getpid()}.{secrets.token_hex(4)}")
        write_private(draft, secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: the first writer's key wins, never half a key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()

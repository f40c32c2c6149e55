"""What a result was measured on: the harness, the stack under test, the seed and the machine.

Two runs are only comparable (a baseline, a regression) when this matches, or
when what differs is known. It is recorded in every `RunResult` the runner
builds (`environment` in `result.json`).

The stack config hash covers the files that define the stack as the harness
sees it: the target file, the compose file, the entry's payloads and each
model's golden file (`CONFIG_ROLES`). It does not cover what the compose file
itself refers to (images, mounted configs, build contexts): the git revision
of the compose file's checkout, with its dirty flag, does.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from harness import __version__

if TYPE_CHECKING:  # result.py imports this module's models: keep it free of the runner's imports
    from harness.scenario import Scenario
    from harness.stack import Backend
    from harness.targets.target import Target

CONFIG_ROLES = "target, compose, payloads, golden:<model>"
"""The files hashed into `stack_config_sha256`, by role (the role, not the path, is hashed: a checkout
elsewhere hashes the same)."""
_GIT_TIMEOUT_S = 10.0
_DOCKER_TIMEOUT_S = 5


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_serialization_defaults_required=True, use_attribute_docstrings=True
    )


class GitRevision(_Model):
    """The checkout the compose file lives in."""

    commit: str
    dirty: bool
    """Tracked files differ from the commit (untracked files do not count, as in `git describe --dirty`)."""
    root: str


class Machine(_Model):
    hostname: str
    os: str
    """`platform.platform()`, e.g. 'Linux-6.8.0-x86_64-with-glibc2.36'."""
    cpu_count: int | None
    python: str
    docker: str | None = None
    """The Docker engine's version on the compose backend; None on the local backend or when it did not answer."""


class ConfigFile(_Model):
    path: str
    sha256: str | None
    """None: the file does not exist here (e.g. an attached stack's compose file)."""


class Environment(_Model):
    harness_version: str
    stack_git: GitRevision | None
    """None: the compose file is not in a git checkout (or git is missing)."""
    stack_config_sha256: str
    """sha256 over `stack_config_files` (role and content hash of each, see `CONFIG_ROLES`)."""
    stack_config_files: dict[str, ConfigFile]
    """Role ('target', 'compose', 'payloads', 'golden:<model>') -> the file and its sha256."""
    seed: int | None
    """The monkey's seed; None when the scenario has a fixed timeline (nothing was drawn at random)."""
    machine: Machine


def describe(env: Environment) -> str:
    """'harness 0.1.0 · stack git 90adbf367c6b (dirty) · stack config 3f2a9c01b7e4 · seed 7 · on ci-1
    (Linux-6.8..., 2 CPUs, Python 3.11.9, Docker 27.3.1)'."""
    git = "not a git checkout" if env.stack_git is None else env.stack_git.commit[:12]
    dirty = " (dirty)" if env.stack_git is not None and env.stack_git.dirty else ""
    machine = env.machine
    docker = f", Docker {machine.docker}" if machine.docker else ""
    seed = f" · seed {env.seed}" if env.seed is not None else ""
    return (
        f"harness {env.harness_version} · stack git {git}{dirty} · stack config "
        f"{env.stack_config_sha256[:12]}{seed} · on {machine.hostname} ({machine.os}, {machine.cpu_count} CPUs, "
        f"Python {machine.python}{docker})"
    )


def run_environment(target: Target, backend: Backend, scenario: Scenario) -> Environment:
    """The environment of a run of `scenario` against `target` on `backend`, as it is now."""
    files = stack_config_files(target)
    return Environment(
        harness_version=__version__,
        stack_git=git_revision(target.spec.compose_file.parent),
        stack_config_sha256=config_hash(files),
        stack_config_files=files,
        seed=scenario.monkey.seed if scenario.monkey is not None else None,
        machine=machine(backend),
    )


def stack_config_files(target: Target) -> dict[str, ConfigFile]:
    spec = target.spec
    paths = {"target": target.file, "compose": spec.compose_file, "payloads": spec.entry.payloads}
    paths |= {f"golden:{name}": model.golden for name, model in sorted(spec.models.items()) if model.golden}
    return {role: ConfigFile(path=str(path), sha256=file_sha256(path)) for role, path in paths.items()}


def config_hash(files: dict[str, ConfigFile]) -> str:
    """sha256 of the sorted {role: content sha256} map: independent of where the checkout is."""
    contents = {role: file.sha256 for role, file in sorted(files.items())}
    return hashlib.sha256(json.dumps(contents, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def git_revision(folder: Path) -> GitRevision | None:
    """HEAD and dirty flag of the checkout holding `folder`; None when it is not one."""
    root = _git(folder, "rev-parse", "--show-toplevel")
    commit = _git(folder, "rev-parse", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if root is None or commit is None or status is None:
        return None
    return GitRevision(commit=commit, dirty=bool(status), root=root)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine(backend: Backend) -> Machine:
    return Machine(
        hostname=socket.gethostname(),
        os=platform.platform(),
        cpu_count=os.cpu_count(),
        python=platform.python_version(),
        docker=docker_version() if backend == "compose" else None,
    )


def docker_version() -> str | None:
    """The engine's version, asked of the engine the compose backend uses; None when it does not answer."""
    import docker  # only the compose backend needs it
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=_DOCKER_TIMEOUT_S)
        try:
            return str(client.version().get("Version")) or None
        finally:
            client.close()
    except (DockerException, OSError):
        return None

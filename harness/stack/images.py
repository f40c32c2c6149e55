"""Building the stack's one runtime image, offline and only when its inputs changed.

The image is labelled with a hash of its build context (`failover.context-hash`),
so an unchanged context costs one image inspect instead of a `docker build`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, BuildError, DockerException, ImageNotFound

from harness.errors import (
    BadInput,
    DockerUnavailable,
    InfrastructureError,
    MissingBinary,
)
from harness.stack.spec import REPO_ROOT

DEFAULT_STACK_IMAGE = "failover-stack:latest"
DEFAULT_BASE_IMAGE = "failover-base:bookworm"
CONTEXT_HASH_LABEL = "failover.context-hash"
IMAGE_DIR = REPO_ROOT / "compose" / "image"
SETUP_DIR = REPO_ROOT / "compose" / "setup"
_WHEELS_DIR = IMAGE_DIR / ".build" / "wheels"
_STAGED_TOXIPROXY = IMAGE_DIR / ".build" / "bin" / "toxiproxy-server"


REMOTE_DOCKER_OPT_IN = "FAILOVER_ALLOW_REMOTE_DOCKER"


def ensure_local_docker(env: Mapping[str, str]) -> None:
    """Refuse a Docker engine on another machine (DOCKER_HOST tcp://, ssh://) unless the user opted in:
    the harness breaks containers, and by default only this machine's."""
    host = env.get("DOCKER_HOST", "")
    if host and not host.startswith(("unix://", "npipe://")) and env.get(REMOTE_DOCKER_OPT_IN) != "1":
        raise BadInput(
            f"DOCKER_HOST={host} is a Docker engine on another machine: the harness acts only on this one's",
            f"unset DOCKER_HOST, or opt in with --allow-remote-docker ({REMOTE_DOCKER_OPT_IN}=1)",
        )


def docker_client() -> docker.DockerClient:
    """A connected client to this machine's engine, or `DockerUnavailable` with the reason."""
    ensure_local_docker(os.environ)
    try:
        client = docker.from_env()
        client.ping()
    except (DockerException, OSError) as error:  # requests' ConnectionError is an OSError
        raise DockerUnavailable(_first_line(str(error))) from error
    return client


def image_names(env: Mapping[str, str]) -> tuple[str, str]:
    """(stack image, base image) as configured by FAILOVER_STACK_IMAGE / FAILOVER_BASE_IMAGE."""
    return (
        env.get("FAILOVER_STACK_IMAGE") or DEFAULT_STACK_IMAGE,
        env.get("FAILOVER_BASE_IMAGE") or DEFAULT_BASE_IMAGE,
    )


def ensure_stack_image(
    env: Mapping[str, str], progress: bool = True, client: docker.DockerClient | None = None
) -> float:
    """Build the stack image if it is missing or stale; return the build time in seconds (0 when cached)."""
    client = client or docker_client()
    image, base = image_names(env)
    _ensure_base_image(client, base, env, progress)
    _stage_build_inputs(env, progress)
    context_hash = build_context_hash(base)
    if _label(client, image) == context_hash:
        return 0.0
    if progress:
        print(f"building stack image {image} (base {base})", file=sys.stderr)
    started = time.monotonic()
    _build(client, image, base, context_hash)
    return time.monotonic() - started


def build_context_hash(base_image: str) -> str:
    """sha256 over everything `docker build` reads, plus the base image name.

    Wheels are hashed by name and size: their names pin the version.
    """
    digest = hashlib.sha256(f"BASE_IMAGE={base_image}\n".encode())
    for name in ("Dockerfile", ".dockerignore", "requirements.txt"):
        _hash_file(digest, IMAGE_DIR / name)
    for wheel in sorted(_WHEELS_DIR.glob("*.whl")):
        digest.update(f"{wheel.name}:{wheel.stat().st_size}\n".encode())
    _hash_file(digest, _STAGED_TOXIPROXY)
    return digest.hexdigest()


def find_toxiproxy_server(env: Mapping[str, str]) -> Path:
    """FAILOVER_TOXIPROXY_SERVER, else PATH, else `<repo>/.tools/bin`."""
    candidates = [env.get("FAILOVER_TOXIPROXY_SERVER"), shutil.which("toxiproxy-server", path=env.get("PATH"))]
    candidates.append(str(REPO_ROOT / ".tools" / "bin" / "toxiproxy-server"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return Path(candidate)
    raise MissingBinary("toxiproxy-server", "bash compose/setup/toxiproxy.sh (installs it into .tools/bin)")


def _ensure_base_image(client: docker.DockerClient, base: str, env: Mapping[str, str], progress: bool) -> None:
    """Build the offline `failover-base:*` image once; other bases are pulled by `docker build`."""
    if not base.startswith("failover-base:") or _exists(client, base):
        return
    tip = (
        "run `bash compose/setup/base-image.sh` once as root (needs debootstrap and a Debian mirror), "
        "or on a machine with a registry set FAILOVER_BASE_IMAGE=python:3.11-slim"
    )
    if os.geteuid() != 0:
        raise InfrastructureError(f"the base image {base} is missing and building it needs root", tip)
    if progress:
        print(f"building base image {base} with debootstrap (a few minutes, once)", file=sys.stderr)
    _run_script("base-image.sh", {**env, "FAILOVER_BASE_IMAGE": base}, f"building the base image {base}", tip)


def _stage_build_inputs(env: Mapping[str, str], progress: bool) -> None:
    """Download the wheels (cached by wheels.sh) and copy the Toxiproxy binary into the build context."""
    script_env = {**env, "PYTHON": sys.executable, "TOXIPROXY_SERVER": str(find_toxiproxy_server(env))}
    output = _run_script(
        "wheels.sh", script_env, "staging the stack's wheels", "check network access to the package index"
    )
    if progress and output:
        print(output, file=sys.stderr)


def _run_script(name: str, env: Mapping[str, str], what: str, tip: str) -> str:
    """Run a setup script; its stdout on success, `InfrastructureError` with its stderr tail on failure."""
    result = subprocess.run(
        ["bash", str(SETUP_DIR / name)], env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:]) or "(no output)"
        raise InfrastructureError(f"{what} failed (compose/setup/{name}, exit {result.returncode}):\n{tail}", tip)
    return result.stdout.strip()


def _build(client: docker.DockerClient, image: str, base: str, context_hash: str) -> None:
    try:
        client.images.build(
            path=str(IMAGE_DIR),
            buildargs={"BASE_IMAGE": base},
            labels={CONTEXT_HASH_LABEL: context_hash},
            tag=image,
            rm=True,
            forcerm=True,
        )
    except BuildError as error:
        raise InfrastructureError(
            f"building the stack image {image} failed: {error.msg}\n{_build_log_tail(error.build_log)}",
            f"fix compose/image/Dockerfile or its inputs; check that the base image {base} is usable",
        ) from error
    except APIError as error:
        raise InfrastructureError(f"building the stack image {image} failed: {error.explanation}") from error


def _build_log_tail(build_log: Iterable[dict[str, Any]], lines: int = 10) -> str:
    chunks = [entry.get("stream") or entry.get("error") or "" for entry in build_log]
    return "\n".join("".join(chunks).strip().splitlines()[-lines:])


def _label(client: docker.DockerClient, image: str) -> str | None:
    try:
        labels = client.images.get(image).labels or {}
    except ImageNotFound:
        return None
    return labels.get(CONTEXT_HASH_LABEL)


def _exists(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except ImageNotFound:
        return False
    return True


def _hash_file(digest: hashlib._Hash, path: Path) -> None:
    digest.update(f"{path.name}\n".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"

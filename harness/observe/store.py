"""Reads the prediction store back after a run: which acknowledged writes are gone (RPO).

A model server answers 200 only after the Redis primary acknowledged the
prediction's record (`pred:<request id>`), so every successful request is an
acknowledged write. After recovery the harness asks the Sentinels which
server is the primary now and checks that every one of those keys is there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import redis

from harness.errors import InfrastructureError
from harness.stack import Stack

KEY_PREFIX = "pred:"
MASTER_NAME = "predictions"
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
_BATCH = 2000
_TIMEOUT_S = 5.0


def missing_writes(stack: Stack, request_ids: Iterable[str]) -> set[str]:
    """The request ids whose prediction record is not in the current primary."""
    client = primary_client(stack)
    missing: set[str] = set()
    try:
        for batch in _batches(list(request_ids)):
            pipeline = client.pipeline(transaction=False)
            for request_id in batch:
                pipeline.exists(KEY_PREFIX + request_id)
            missing.update(rid for rid, found in zip(batch, pipeline.execute()) if not found)
    except redis.RedisError as error:
        raise InfrastructureError(f"could not read the prediction store back: {error}") from error
    finally:
        client.close()
    return missing


def primary_client(stack: Stack) -> redis.Redis:
    """A client on the primary the Sentinels agree on, reached through its port published on loopback."""
    port = _primary_port(stack)
    service = service_listening_on(stack, port)
    host, published = stack.endpoints().address(service)
    return redis.Redis(host=host, port=published, socket_timeout=_TIMEOUT_S)


def _primary_port(stack: Stack) -> int:
    errors = []
    for sentinel in SENTINELS:
        host, port = stack.endpoints().address(sentinel)
        try:
            with redis.Redis(host=host, port=port, socket_timeout=_TIMEOUT_S) as client:
                reply = client.execute_command("SENTINEL", "get-master-addr-by-name", MASTER_NAME)
        except redis.RedisError as error:
            errors.append(f"{sentinel}: {error}")
            continue
        if reply:
            return int(reply[1])
        errors.append(f"{sentinel}: does not know {MASTER_NAME!r}")
    raise InfrastructureError(f"no Sentinel named the store's primary: {'; '.join(errors)}", "is the stack up?")


def service_listening_on(stack: Stack, container_port: int) -> str:
    """Sentinels announce service names (compose) or loopback (local); ports are unique in the stack."""
    for name, service in stack.spec.services.items():
        if any(port.container_port == container_port for port in service.ports):
            return name
    raise InfrastructureError(f"the store's primary listens on port {container_port}, which no service publishes")


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]

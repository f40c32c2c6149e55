"""HAProxy's runtime API (the `stats socket` in compose/gateway/haproxy.cfg), over TCP."""

from __future__ import annotations

import re
import socket

from .config import Address

_WEIGHT = re.compile(r"^(\d+) \(initial (\d+)\)")


class RuntimeApiError(Exception):
    """The runtime API could not be reached or refused a command."""


class RuntimeApi:
    def __init__(self, address: Address, backend: str, timeout_s: float = 1.0) -> None:
        self._address = address
        self._backend = backend
        self._timeout_s = timeout_s

    def command(self, line: str) -> str:
        """One command per connection (non-interactive mode): send it, read until HAProxy closes."""
        try:
            with socket.create_connection(self._address, timeout=self._timeout_s) as conn:
                conn.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise RuntimeApiError(f"runtime API {self._address}: {line!r}: {exc}") from exc
        return b"".join(chunks).decode(errors="replace").strip()

    def weight(self, server: str) -> tuple[int, int]:
        """(current, initial) weight of a server of the backend."""
        answer = self.command(f"get weight {self._backend}/{server}")
        match = _WEIGHT.match(answer)
        if match is None:
            raise RuntimeApiError(f"get weight {self._backend}/{server}: {answer!r}")
        return int(match[1]), int(match[2])

    def set_weight(self, server: str, weight: int) -> None:
        answer = self.command(f"set weight {self._backend}/{server} {weight}")
        if answer:
            raise RuntimeApiError(f"set weight {self._backend}/{server} {weight}: {answer!r}")


def canary_weights(servers: list[str], canary: str, share: float, base: int = 100) -> dict[str, int]:
    """Weights giving `canary` about `share` of the traffic split among `servers` (HAProxy allows 0-256)."""
    others = [name for name in servers if name != canary]
    if not others:
        return {canary: base}
    canary_weight = round(base * len(others) * share / (1 - share))
    return {**{name: base for name in others}, canary: max(1, min(256, canary_weight))}

"""One write per response, so a SIGKILL never leaves a response half-sent.

uvicorn writes a response's status line and headers in one `send()` and its
body in a second. A replica killed between the two leaves the gateway with a
200 whose body never comes: HAProxy has already forwarded the headers to the
client, so it cannot retry on another replica (not even with `http-response
wait-for-body` and `retry-on junk-response`: HAProxy 2.6 still forwards the
headers and ends the response with SD), and the client sees a broken response.

Holding the head back until the first body write makes the two leave in one
`send()`: a kill then lands either before it (the gateway gets no response at
all and retries elsewhere: `retry-on empty-response`) or after it (the whole
response is in the kernel, which delivers it before closing the socket).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HttpToolsProtocol,
    RequestResponseCycle,
)


class HeadWithBodyTransport:
    """The transport one request-response cycle writes to: its head leaves with its first body write.

    The head is the cycle's first write after its response started (a 100
    Continue is written before that, and goes out at once). A cycle closed
    with its head still held (the app failed between head and body) drops the
    head: the gateway sees an empty response, which it retries, rather than
    a truncated one, which it cannot.
    """

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._head_seen = False

    def write(self, data: bytes) -> None:
        if not self._head_seen and self._cycle.response_started:
            self._head, self._head_seen = data, True
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def close(self) -> None:
        self._head = None
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWritePerResponse(HttpToolsProtocol):
    """uvicorn's httptools protocol, with each cycle writing through a `HeadWithBodyTransport`."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # a new cycle (not an upgrade)
            cycle.transport = HeadWithBodyTransport(self.transport, cycle)  # type: ignore[assignment]

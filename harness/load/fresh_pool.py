"""Keep-alive connections that are never reused after sitting idle long enough for the server to close them.

A server closes an idle keep-alive connection after its own timeout (HAProxy:
5 s by default). A client that picks that connection from its pool at the
same instant sends its request into a closing socket; geventhttpclient
retries that only for idempotent methods, so a POST probe fails with
`HTTPConnectionClosed` although the stack was healthy. Seen in CI: one probe
5.74 s after a replica kill (its connections had gone idle after the kill),
counted as an outage. Reproduced on compose: 11 of 440 requests on
connections idle 4.998-5.004 s; 0 of 440 with this pool. Only the client can
avoid the race: retrying a POST could count a failed request as a success.
"""

from __future__ import annotations

import time

import gevent.socket
from geventhttpclient import HTTPClient
from geventhttpclient.connectionpool import ConnectionPool

MAX_IDLE_S = 2.0
"""Well under any server's keep-alive timeout (HAProxy 5 s, nginx 75 s, uvicorn 5 s)."""


class FreshConnectionPool(ConnectionPool):
    """A `ConnectionPool` that closes, instead of reusing, a connection idle for `MAX_IDLE_S` or more."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._returned_at: dict[int, float] = {}  # by id(): gevent sockets take no new attributes

    def return_socket(self, sock: gevent.socket.socket) -> None:
        self._returned_at[id(sock)] = time.monotonic()
        super().return_socket(sock)

    def _is_socket_alive(self, sock: gevent.socket.socket | None) -> bool:
        returned_at = self._returned_at.pop(id(sock), None)
        if returned_at is not None and time.monotonic() - returned_at >= MAX_IDLE_S:
            return False
        return super()._is_socket_alive(sock)


def use_fresh_connections(client: HTTPClient) -> HTTPClient:
    """Give a plain-HTTP `client` a `FreshConnectionPool` with the same settings (HTTPS keeps its own pool)."""
    pool = client._connection_pool
    if client.ssl:
        return client
    client._connection_pool = FreshConnectionPool(
        pool._connection_host,
        pool._connection_port,
        pool._request_host,
        pool._request_port,
        size=pool.size,
        connection_timeout=pool.connection_timeout,
        network_timeout=pool.network_timeout,
        disable_ipv6=pool.disable_ipv6,
    )
    pool.close()
    return client

"""A SIGKILL aimed at the worst instant, for test_inflight_kill.py.

Python imports this at start-up when its folder is on PYTHONPATH. In the model
server named by FAILOVER_TEST_KILL_SERVER only, every connection's transport is
wrapped: right after a write that carries the status line of a response to a
request whose X-Request-Id starts with FAILOVER_TEST_KILL_MARK, the process
SIGKILLs itself. The wrapped transport is the one uvicorn's protocol writes to,
so each of its writes is one write() to the socket (uvloop and asyncio both
write at once): the kill lands exactly after what the server sent in one piece.
"""

import os

_SERVER = os.environ.get("FAILOVER_TEST_KILL_SERVER")

if _SERVER and os.environ.get("SERVER_NAME") == _SERVER:
    import signal
    from typing import Any

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    _MARK = b"x-request-id: " + os.environ["FAILOVER_TEST_KILL_MARK"].lower().encode()
    _connection_made = HttpToolsProtocol.connection_made

    class _KillAfterMarkedWrite:
        def __init__(self, transport: Any) -> None:
            self._transport = transport

        def write(self, data: bytes) -> None:
            self._transport.write(data)
            if data.startswith(b"HTTP/1.1 ") and _MARK in bytes(data).lower():
                os.kill(os.getpid(), signal.SIGKILL)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._transport, name)

    def _wrapped_connection_made(self: HttpToolsProtocol, transport: Any) -> None:
        _connection_made(self, _KillAfterMarkedWrite(transport))

    HttpToolsProtocol.connection_made = _wrapped_connection_made  # type: ignore[method-assign]

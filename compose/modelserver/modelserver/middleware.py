"""Serving headers and request metrics on every response, errors included.

A plain ASGI middleware rather than BaseHTTPMiddleware: it adds almost no
latency, and it can answer an unhandled exception itself, so even a 500
carries the headers (Starlette's outermost error handler would not add them).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import ServerMetrics

log = logging.getLogger(__name__)


def request_id_of(scope: Scope) -> str:
    """The client's X-Request-Id, or a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and value:
            return value.decode("latin-1")
    return uuid.uuid4().hex


class ServingHeaders:
    """Sets X-Served-By, X-Model-Version, X-Degraded and X-Request-Id.

    The request id is also put in request.state.request_id for the handlers.
    `identity` is called per response because the model version changes
    from "none" once the background load finishes.
    """

    def __init__(self, app: ASGIApp, identity: Callable[[], dict[str, str]], metrics: ServerMetrics) -> None:
        self.app = app
        self.identity = identity
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status: int | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.update(self.identity())
                headers["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if status is not None:
                raise  # the response had started; nothing sane left to send
            await JSONResponse({"error": "internal error"}, status_code=500)(scope, receive, send_with_headers)
        finally:
            self.metrics.observe(scope["path"], status or 500, time.perf_counter() - started)

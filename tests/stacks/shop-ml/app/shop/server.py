"""HTTP front of the model server (stdlib http.server).

POST /v1/score  {"inputs": [x1..x4]} -> {"score": <class>, "model": "shop-v1"}, 200 only once the
                prediction is committed in PostgreSQL; 503 when the database cannot store it.
GET  /ping      200 when the server can serve (its database answers), else 503.
Every answer carries X-Served-By, X-Model-Version and X-Request-Id (the caller's, or a new one).

Configuration (environment): SERVER_NAME, LISTEN (host:port), DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg

from shop.model import MODEL_VERSION, parse_inputs, predict
from shop.store import Store

MAX_BODY_BYTES = 64 * 1024


class ShopServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], name: str, store: Store) -> None:
        super().__init__(address, ShopHandler)
        self.name = name
        self.store = store


class ShopHandler(BaseHTTPRequestHandler):
    server: ShopServer
    server_version = "shop-ml"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        request_id = self.headers.get("X-Request-Id") or uuid.uuid4().hex
        if self.path != "/v1/score":
            self._answer(404, {"error": f"no route POST {self.path}"}, request_id)
            return
        try:
            inputs = parse_inputs(self._read_json())
        except ValueError as error:
            self._answer(400, {"error": str(error)}, request_id)
            return
        score = predict(inputs)
        try:
            self.server.store.record(request_id, score, self.server.name)
        except psycopg.Error as error:
            self._answer(503, {"error": f"prediction store unavailable: {type(error).__name__}"}, request_id)
            return
        self._answer(200, {"score": score, "model": MODEL_VERSION}, request_id)

    def do_GET(self) -> None:  # noqa: N802
        request_id = self.headers.get("X-Request-Id") or uuid.uuid4().hex
        if self.path != "/ping":
            self._answer(404, {"error": f"no route GET {self.path}"}, request_id)
        elif self.server.store.ping():
            self._answer(200, {"status": "ok"}, request_id)
        else:
            self._answer(503, {"status": "database unreachable"}, request_id)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError(f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except json.JSONDecodeError as error:
            raise ValueError(f"body is not JSON: {error}") from error

    def _answer(self, status: int, payload: dict[str, Any], request_id: str) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", self.server.name)
        self.send_header("X-Model-Version", MODEL_VERSION)
        self.send_header("X-Request-Id", request_id)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: one log line per request would cost more than the prediction."""


def main() -> None:
    name = os.environ.get("SERVER_NAME", "app")
    host, _, port = os.environ.get("LISTEN", "0.0.0.0:9000").rpartition(":")
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        sys.exit("DATABASE_URL is not set (e.g. postgresql://shop:shop@db:5432/shop)")
    server = ShopServer((host, int(port)), name, Store(dsn))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{name}: serving {MODEL_VERSION} on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

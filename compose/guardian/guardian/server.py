"""The guardian's HTTP API: GET /events (every decision with its evidence) and GET /health."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .config import Address
from .controller import Guardian


def health(guardian: Guardian) -> dict[str, Any]:
    now = time.time()
    return {
        "ok": True,
        "canary": guardian.canary.version if guardian.canary else None,
        "good_versions": sorted(guardian.memory.good),
        "pending_write": guardian.pending.kind if guardian.pending else None,
        "verifying": [{"action": v.action, "version": v.version} for v in guardian.verifications],
        "replicas": {
            name: {"version": sample.version, "ok": sample.ok, "age_s": round(now - sample.t, 3)}
            for name, sample in guardian.windows.latest().items()
        },
    }


def make_server(address: Address, guardian: Guardian) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/events":
                self._send(200, guardian.events.all())
            elif path == "/health":
                self._send(200, health(guardian))
            else:
                self._send(404, {"error": f"no such endpoint {path}; try /events or /health"})

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """No access log: the harness polls /events often."""

    server = ThreadingHTTPServer(address, Handler)
    server.daemon_threads = True
    return server

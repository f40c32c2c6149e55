"""The control channel of a running run: a small HTTP server on 127.0.0.1, and its clients.

Each run that observes serves it on a port of its own (`--dashboard-port`, else
any free one) and registers it in the state directory (`gameday/<run_id>.json`,
0600, with a random token); the run's folder gets `control.json` (address and
run id, no token). `failover note|abort|confirm|pause|resume` find the newest
live run there, or the run of `--run RUN_DIR`, and POST with the token: other
local users can reach the port but not the token. Read-only views (the
dashboard with `?token=`, its event stream, `/metrics`) are served by the same
server: `dashboard.py` and `metrics.py` render them.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlparse

import httpx

from harness.errors import BadInput, InfrastructureError
from harness.gameday.session import GameDay
from harness.journal import Owner
from harness.stack.state import private_dir, state_root, write_private

CONTROL_FILE = "control.json"
COMMANDS = ("note", "abort", "confirm", "pause", "resume")
Page = Callable[[str], str]
"""The dashboard page for a token."""
Stream = Callable[[], Iterator[str]]
"""Server-sent events, each already formatted ('data: ...\\n\\n')."""


def registry() -> Path:
    return private_dir(state_root() / "gameday")


@dataclass(frozen=True)
class Views:
    """What the server shows besides the commands (each optional)."""

    page: Page | None = None
    events: Stream | None = None
    metrics: Callable[[], bytes] | None = None


class ControlServer:
    """Serves one run's game day until `close`; every command goes to `GameDay`."""

    def __init__(self, gameday: GameDay, run_dir: Path, views: Views, port: int = 0) -> None:
        self.gameday = gameday
        self.views = views
        self.token = secrets.token_urlsafe(24)
        self.run_id = gameday.journal.run_id
        self.run_dir = run_dir
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        except OSError as error:
            raise InfrastructureError(
                f"the game-day control channel could not listen on 127.0.0.1:{port}: {error.strerror}",
                "pick another --dashboard-port (or 0 for any free one)",
            ) from error
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="gameday-control", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        owner = Owner.current()
        facts = {"url": self.url, "run_id": self.run_id, "run_dir": str(self.run_dir.resolve())}
        write_private(self._registration(), json.dumps(facts | {"token": self.token, "pid": owner.pid, "pid_started": owner.started}))
        (self.run_dir / CONTROL_FILE).write_text(json.dumps(facts))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._registration().unlink(missing_ok=True)
        (self.run_dir / CONTROL_FILE).unlink(missing_ok=True)
        self._server.shutdown()
        self._server.server_close()

    def dashboard_url(self) -> str:
        return f"{self.url}/?token={self.token}"

    def command(self, name: str, body: dict[str, Any]) -> str:
        author = str(body.get("author") or "someone")
        if name == "note":
            text = str(body.get("text") or "").strip()
            if not text:
                raise ValueError("a note needs text")
            self.gameday.note(text, author)
            return "noted"
        handlers = {
            "abort": self.gameday.abort,
            "confirm": self.gameday.confirm,
            "pause": self.gameday.pause,
            "resume": self.gameday.resume,
        }
        return handlers[name](author)

    def _registration(self) -> Path:
        return registry() / f"{self.run_id}.json"


def _handler_for(server: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the run's terminal shows the live view."""

        def do_GET(self) -> None:
            url = urlparse(self.path)
            views = server.views
            if url.path == "/metrics" and views.metrics is not None:
                return self._reply(200, views.metrics(), "text/plain; version=0.0.4")
            if not self._authorised(url.query):
                return self._reply(403, b"forbidden: the token is printed by `failover dashboard`\n", "text/plain")
            if url.path == "/" and views.page is not None:
                return self._reply(200, views.page(server.token).encode(), "text/html; charset=utf-8")
            if url.path == "/events" and views.events is not None:
                return self._stream(views.events)
            if url.path == "/api/state":
                return self._reply(200, json.dumps(server.gameday.snapshot()).encode(), "application/json")
            return self._reply(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            url = urlparse(self.path)
            name = url.path.removeprefix("/api/")
            if not self._authorised(url.query):
                return self._reply(403, b'{"error": "forbidden"}', "application/json")
            if name not in COMMANDS:
                return self._reply(404, b'{"error": "no such command"}', "application/json")
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                said = server.command(name, body if isinstance(body, dict) else {})
            except ValueError as error:
                return self._reply(400, json.dumps({"error": str(error)}).encode(), "application/json")
            return self._reply(200, json.dumps({"ok": said}).encode(), "application/json")

        def _authorised(self, query: str) -> bool:
            given = self.headers.get("X-Failover-Token") or parse_qs(query).get("token", [""])[0]
            return secrets.compare_digest(given, server.token)

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, events: Stream) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for event in events():
                    self.wfile.write(event.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the viewer closed its tab

    return Handler


# --- clients -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunAddress:
    url: str
    token: str
    run_id: str
    run_dir: str


def find_run(run_dir: Path | None = None) -> RunAddress:
    """The run `run_dir` names, or else the newest live run on this machine."""
    live = _live_runs()
    if run_dir is not None:
        return _run_of(run_dir, live)
    if not live:
        raise BadInput("no game-day run is running on this machine", "start one: failover run SCENARIO")
    return max(live, key=lambda entry: entry[0])[1]


def send(address: RunAddress, command: str, **body: Any) -> str:
    """POST one command to a run; its answer, or a clear error."""
    try:
        response = httpx.post(
            f"{address.url}/api/{command}", json=body, headers={"X-Failover-Token": address.token}, timeout=10.0
        )
    except httpx.HTTPError as error:
        raise InfrastructureError(f"the run at {address.url} did not answer: {error}", "is it still running? `failover heal` cleans up after a dead one") from error
    answer = response.json()
    if response.status_code != 200:
        raise BadInput(f"the run refused '{command}': {answer.get('error')}", "see failover " + command + " --help")
    return str(answer["ok"])


def _live_runs() -> list[tuple[float, RunAddress]]:
    runs = []
    for file in registry().glob("*.json"):
        try:
            fields = json.loads(file.read_text())
            owner = Owner(int(fields["pid"]), float(fields["pid_started"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not owner.alive():
            file.unlink(missing_ok=True)  # its run died without closing the channel
            continue
        address = RunAddress(fields["url"], fields["token"], fields["run_id"], fields["run_dir"])
        runs.append((file.stat().st_mtime, address))
    return runs


def _run_of(run_dir: Path, live: list[tuple[float, RunAddress]]) -> RunAddress:
    wanted = str(run_dir.resolve())
    for _, address in live:
        if address.run_dir == wanted:
            return address
    raise BadInput(
        f"{run_dir} is not a running run on this machine (no live control channel for it)",
        "give the folder of a running run (reports/<time>-<scenario>), or leave out --run for the newest",
    )

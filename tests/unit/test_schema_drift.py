"""schema_drift: malformed bodies derived from a valid one, sent to a real HTTP server, judged by status."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.faults import FaultContext, build_fault, parse_fault
from harness.faults.entry.malformations import KINDS, malformed
from harness.faults.entry.schema_drift import SchemaDrift
from harness.load.entry import EntryPoint
from harness.stack import StackSettings
from harness.stack.local import LocalStack

VALID = {"features": [0.5] * 8, "model": "digits"}


class _Strict(BaseHTTPRequestHandler):
    """400 for anything but VALID's shape; `crash_on` kinds of input get a 500 instead."""

    crash_on_nan = False

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            data = json.loads(body)
            features = data["features"]
            ok = isinstance(features, list) and len(features) == 8 and all(v == v for v in features)
        except (ValueError, KeyError, TypeError):
            ok = False
        nan = b"NaN" in body
        status = 500 if nan and self.crash_on_nan else (200 if ok and set(data) == set(VALID) else 400)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def entry(tmp_path: Path) -> Iterator[tuple[EntryPoint, type[_Strict]]]:
    handler = type("Handler", (_Strict,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    payloads = tmp_path / "payloads.jsonl"
    payloads.write_text(json.dumps({"body": VALID, "label": 1}) + "\n")
    yield EntryPoint(url=f"http://127.0.0.1:{server.server_address[1]}/predict", payloads=payloads), handler
    server.shutdown()


@pytest.mark.parametrize("kind", KINDS)
def test_every_malformation_differs_from_the_valid_body(kind: str) -> None:
    assert malformed(VALID, kind) != json.dumps(VALID).encode()  # type: ignore[arg-type]


def _drift(entry: EntryPoint, seconds: float) -> SchemaDrift:
    spec = parse_fault({"at": 0, "action": "schema_drift", "target": "entry", "rate": 80})
    fault = build_fault(spec, FaultContext(LocalStack(StackSettings()), "http://127.0.0.1:1", entry=entry))
    assert isinstance(fault, SchemaDrift)
    fault.inject()
    time.sleep(seconds)
    fault.revert()
    return fault


def test_a_server_rejecting_every_malformed_request_passes(entry: tuple[EntryPoint, type[_Strict]]) -> None:
    fault = _drift(entry[0], 0.5)
    (check,) = fault.checks()
    assert check.name == "malformed_rejected" and check.passed and check.measured == 1.0
    assert set(fault.findings()) == set(KINDS)


def test_a_500_for_one_kind_fails_and_names_it(entry: tuple[EntryPoint, type[_Strict]]) -> None:
    point, handler = entry
    handler.crash_on_nan = True
    fault = _drift(point, 0.5)
    (check,) = fault.checks()
    assert not check.passed and check.measured is not None and check.measured < 1.0
    assert fault.findings()["nan"] == {"5xx": fault.findings()["nan"]["5xx"]}
    assert all(outcomes.keys() == {"4xx"} for kind, outcomes in fault.findings().items() if kind != "nan")


def test_nothing_sent_is_not_measured_never_a_pass(entry: tuple[EntryPoint, type[_Strict]]) -> None:
    spec = parse_fault({"at": 0, "action": "schema_drift", "target": "entry"})
    fault = build_fault(spec, FaultContext(LocalStack(StackSettings()), "http://127.0.0.1:1", entry=entry[0]))
    (check,) = fault.checks()  # type: ignore[attr-defined]
    assert check.measured is None and not check.passed and check.not_measured

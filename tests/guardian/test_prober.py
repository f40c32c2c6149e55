"""The prober against a real HTTP server that answers slowly: it keeps its rate (open loop), so a model
too slow to answer is still sampled often enough to be judged."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from guardian.config import Address
from guardian.prober import Golden, ReplicaProber
from guardian.window import Sample

ANSWER_AFTER_S = 0.6


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(ANSWER_AFTER_S)
        body = json.dumps({"prediction": 1}).encode()
        self.send_response(200)
        self.send_header("X-Model-Version", "v4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # as a real server's backlog: the probes open connections in parallel


def test_a_slow_replica_is_sampled_at_the_rate_not_once_per_answer() -> None:
    server = _Server(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    samples: list[Sample] = []
    golden = [Golden(json.dumps({"features": [0.0] * 64}).encode(), 1)]
    prober = ReplicaProber("model-a", Address("127.0.0.1", server.server_address[1]), golden, 10.0, 5.0, samples.append)
    prober.start()
    time.sleep(2.0)
    prober.stop()
    prober.join(timeout=10)
    server.shutdown()
    # closed loop: about 2.0 / 0.6 = 3 answers; open loop at 10/s: about 14 answered by now
    answered = [s for s in samples if s.ok]
    assert len(answered) >= 8, samples
    assert all(s.version == "v4" and s.latency_s >= ANSWER_AFTER_S for s in answered)

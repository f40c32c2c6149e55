"""Model server: hot swap under load, and cold start + memory with ONNX Runtime vs the old JSON model.

    PYTHONPATH=$PWD .venv/bin/python tests/benchmarks/model_server_bench.py [--swaps 6] [--starts 3]

Runs real processes on 127.0.0.1 (Redis, one Sentinel, the model server); no stack, no lock needed.
Prints:
- swap: a client thread posts /predict back to back while the champion alias moves v2 <-> v1;
  per swap, the time from the alias move to the first answer from the new version (includes
  the RELOAD_INTERVAL poll) and the server's own load time (read, sha256, session, self-check);
  failed requests over the whole run (target 0).
- cold start: spawn to /readyz 200, and the process RSS once ready, for the current ONNX server
  and for the JSON-model server of the last commit that had it (`git archive`, same venv).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "compose" / "modelserver"))

from modelserver.registry import set_alias

from tests.integration._procs import HOST, Proc, free_port, start_redis, start_sentinel, wait_for

MASTER = "predictions"
FEATURES = [0.0] * 64


def json_model_tree(work: Path) -> Path:
    """compose/modelserver and fixtures as of the last commit with JSON artifacts."""
    deleting = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--diff-filter=D", "--", "fixtures/models/v2/model.json"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not deleting:
        raise SystemExit("no commit removed fixtures/models/v2/model.json: nothing to compare with")
    archive = subprocess.run(
        ["git", "archive", f"{deleting}^", "compose/modelserver", "fixtures"], cwd=REPO, check=True, capture_output=True
    ).stdout
    tree = work / "json-tree"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def server_env(name: str, port: int, registry: Path, validation: Path, sentinel_port: int, primary_port: int) -> dict:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
        "SERVER_NAME": name,
        "LISTEN": f"{HOST}:{port}",
        "REGISTRY_DIR": str(registry),
        "VALIDATION_FILE": str(validation),
        "SENTINELS": f"{HOST}:{sentinel_port}",
        "SENTINEL_MASTER": MASTER,
        "REDIS_ROUTES": f"{HOST}:{primary_port}={HOST}:{primary_port}",
    }


def start_server(
    work: Path, tree: Path, registry: Path, ports: tuple[int, int], **extra: str
) -> tuple[Proc, str, float]:
    """(process, url, seconds from spawn to /readyz 200)."""
    port = free_port()
    env = {**server_env("bench", port, registry, tree / "fixtures/requests/validation.jsonl", *ports), **extra}
    started = time.perf_counter()
    proc = Proc([sys.executable, "-m", "modelserver"], work, f"server-{port}", tree / "compose/modelserver", env)
    url = f"http://{HOST}:{port}"
    proc.await_ready(lambda: httpx.get(f"{url}/readyz", timeout=1).status_code == 200, 60, "readyz 200")
    return proc, url, time.perf_counter() - started


def cold_starts(work: Path, tree: Path, ports: tuple[int, int], count: int) -> tuple[list[float], list[float]]:
    """(seconds to ready, RSS MiB once ready) per start."""
    seconds, rss = [], []
    for _ in range(count):
        proc, url, took = start_server(work, tree, tree / "fixtures/models", ports)
        httpx.post(f"{url}/predict", json={"features": FEATURES}, timeout=5)
        rss.append(psutil.Process(proc.popen.pid).memory_info().rss / 2**20)
        seconds.append(took)
        proc.stop()
    return seconds, rss


class Hammer(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop_event = url, threading.Event()
        self.answers: list[tuple[float, int, str]] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while not self.stop_event.is_set():
                try:
                    response = http.post("/predict", json={"features": FEATURES})
                    self.answers.append(
                        (time.perf_counter(), response.status_code, response.headers["x-model-version"])
                    )
                except httpx.HTTPError as exc:
                    self.answers.append((time.perf_counter(), 0, type(exc).__name__))


def first_answer(hammer: Hammer, since: float, version: str) -> float | None:
    """When the first answer from `version` after `since` came, or None."""
    return next((t for t, _, v in hammer.answers if t > since and v == version), None)


def swaps(work: Path, ports: tuple[int, int], count: int) -> None:
    registry = Path(shutil.copytree(REPO / "fixtures/models", work / "registry"))
    proc, url, _ = start_server(work, REPO, registry, ports)
    hammer = Hammer(url)
    hammer.start()
    wait_for(lambda: len(hammer.answers) > 50, 10, "first answers")
    to_new, version = [], "v2"
    for _ in range(count):
        version = "v1" if version == "v2" else "v2"
        moved = time.perf_counter()
        set_alias(registry, "champion", version)
        served = lambda moved=moved, version=version: first_answer(hammer, moved, version) is not None
        wait_for(served, 10, f"{version} served")
        to_new.append(first_answer(hammer, moved, version) - moved)
        time.sleep(0.3)
    hammer.stop_event.set()
    hammer.join()
    proc.stop()
    loads = [float(s) for s in re.findall(r"loaded in ([0-9.]+) s", proc.output())][1:]
    failed = [a for a in hammer.answers if a[1] != 200]
    per_s = len(hammer.answers) / (hammer.answers[-1][0] - hammer.answers[0][0])
    print(
        f"hot swap: {count} alias moves under load ({len(hammer.answers)} requests, {per_s:.0f}/s, RELOAD_INTERVAL 0.25 s)"
    )
    print(
        f"  alias move -> first answer from the new version: median {statistics.median(to_new) * 1000:.0f} ms, "
        f"max {max(to_new) * 1000:.0f} ms"
    )
    print(
        f"  server-side load (read, sha256, session, self-check): median {statistics.median(loads) * 1000:.1f} ms, "
        f"max {max(loads) * 1000:.1f} ms"
    )
    print(f"  failed requests during the swaps: {len(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--swaps", type=int, default=6)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        primary_port, sentinel_port = free_port(), free_port()
        redis = start_redis(work, primary_port)
        sentinel = start_sentinel(work, sentinel_port, primary_port, MASTER)
        ports = (sentinel_port, primary_port)
        try:
            swaps(work, ports, args.swaps)
            print(f"cold start and memory ({args.starts} starts each, median; spawn -> /readyz 200, RSS once ready)")
            for name, tree in (("ONNX Runtime", REPO), ("JSON (numpy)", json_model_tree(work))):
                seconds, rss = cold_starts(work, tree, ports, args.starts)
                print(f"  {name:13} ready in {statistics.median(seconds):.2f} s, RSS {statistics.median(rss):.0f} MiB")
        finally:
            sentinel.stop()
            redis.stop()


if __name__ == "__main__":
    main()

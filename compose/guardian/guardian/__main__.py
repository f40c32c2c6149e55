"""Entry point: `python -m guardian`, configured by environment variables (see config.py)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from .config import ConfigError, Settings
from .controller import Guardian
from .events import EventLog
from .haproxy import RuntimeApi
from .prober import GoldenFileError, ReplicaProber, load_golden
from .registry import FileRegistry
from .server import make_server
from .weights import WeightShifter
from .window import SampleWindows

log = logging.getLogger("guardian")
FOLLOW_UP_INTERVAL_S = 0.1
"""Verifications and registry retries are checked this often, whatever the analysis interval."""


def build(settings: Settings) -> tuple[Guardian, list[ReplicaProber]]:
    windows = SampleWindows(settings.timing.window_s, settings.timing.window_samples)
    api = RuntimeApi(settings.runtime_api, settings.haproxy_backend) if settings.runtime_api else None
    shifter = WeightShifter(api, list(settings.replicas), settings.canary_replica, settings.timing.canary_weight)
    guardian = Guardian(settings, FileRegistry(settings.registry_dir), windows, EventLog(), shifter)
    golden = load_golden(settings.validation_file)
    timing = settings.timing
    probers = [
        ReplicaProber(name, address, golden, timing.probe_rate, timing.probe_timeout_s, windows.add)
        for name, address in settings.replicas.items()
    ]
    return guardian, probers


def evaluate_forever(guardian: Guardian, stop: threading.Event) -> None:
    interval = guardian.settings.timing.eval_interval_s
    next_eval = 0.0
    while not stop.wait(min(interval, FOLLOW_UP_INTERVAL_S)):
        now = time.time()
        try:
            if now >= next_eval:
                next_eval = now + interval
                guardian.tick(now)
            else:
                guardian.follow_up(now)
        except Exception:  # the guardian must outlive any surprise; the next round tries again
            log.exception("evaluation failed")


def main() -> None:
    parser = argparse.ArgumentParser(prog="guardian", description="Rollout guardian (settings: see config.py)")
    parser.add_argument("--runtime-api", metavar="HOST:PORT", help="HAProxy's runtime API, for canary weights")
    args = parser.parse_args()
    try:
        settings = Settings.from_env(os.environ, args.runtime_api)
        guardian, probers = build(settings)
    except (ConfigError, GoldenFileError) as exc:
        print(f"guardian: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s guardian %(name)s: %(message)s")
    server = make_server(settings.listen, guardian)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for prober in probers:
        prober.start()
    threading.Thread(target=evaluate_forever, args=(guardian, stop), name="evaluate", daemon=True).start()
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log.info(
        "guarding %s (registry %s), API on %s", ", ".join(settings.replicas), settings.registry_dir, settings.listen
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()

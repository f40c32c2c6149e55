"""A scenario's load: Locust users (closed loop) plus the open-loop probe stream.

Probes are the basis of RTO (they keep their schedule while the stack hangs);
Locust adds realistic concurrent load and its own statistics as a cross-check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from harness import scoring
from harness.load.entry import EntryPoint
from harness.load.locust_run import LocustRun
from harness.load.payloads import load_payloads
from harness.load.probe_process import ProbeProcess
from harness.result import ProbeFacts
from harness.scenario import Load


class LoadMix:
    def __init__(self, load: Load, entry: EntryPoint, workdir: Path) -> None:
        load_payloads(entry.payloads)  # a bad payload file is bad input, reported before any load starts
        workdir.mkdir(parents=True, exist_ok=True)
        self.probe = ProbeProcess(entry, load.probe_rate, load.probe_timeout, workdir)
        self.locust = LocustRun(
            entry, workdir, users=load.users, rate=load.rate, timeout_s=load.probe_timeout, workers=load.workers,
            remote_workers=load.remote_workers, master_bind=load.master_bind, master_port=load.master_port,
        )
        self._stopped = False

    def __enter__(self) -> LoadMix:
        self.locust.start()
        self.probe.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.probe.stop()
        self.locust.stop()

    def probe_frame(self, since: float | None = None) -> pd.DataFrame:
        """Probe records so far (or of probes sent since `since`: constant work per live check)."""
        records = self.probe.records() if since is None else self.probe.records_since(since)
        return scoring.records_frame(records)

    def frame(self) -> pd.DataFrame:
        """Every record, probes and Locust's (Locust's are complete once stopped)."""
        return scoring.records_frame([*self.probe.records(), *self.locust.records()])

    def probe_facts(self) -> ProbeFacts | None:
        """How well the probe stream kept its schedule, once stopped; None when its worker did not say."""
        facts = self.probe.schedule()
        return None if facts is None else ProbeFacts(**facts)

    def locust_stats(self) -> dict[str, Any]:
        return dict(self.locust.locust_stats()) if self.locust.users else {}

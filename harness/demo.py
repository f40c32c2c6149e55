"""`failover stack demo`: up, predict through the gateway, show who served, down."""

from __future__ import annotations

import collections
import csv
import dataclasses
import json
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads
from harness.load.probe import PredictionClient
from harness.records import RequestRecord
from harness.stack import Stack
from harness.targets.reference import ReferenceTarget


def run_demo(stack: Stack, requests: int, console: Console, reports_dir: Path) -> int:
    """Bring `stack` up, send `requests` labeled predictions, print a summary, bring it down.

    The request records and the summary are written to <reports_dir>/<time>-stack-demo/.
    Returns the number of failed requests (0 on a healthy stack).
    """
    console.print(f"[bold]bringing the reference stack up ({stack.backend} backend)[/]")
    try:
        target = ReferenceTarget(stack.settings)
        target.bring_up(stack, progress=True)
        console.print("[green]all services healthy[/]")
        records = _send(target.entry, requests)
        table = _summary(records)
        console.print(table)
        out = _write_report(records, stack.backend, reports_dir)
        console.print(f"records and summary written to {out}")
        return sum(not record.ok for record in records)
    finally:
        console.print("[bold]bringing the stack down[/]")
        stack.down()


def _send(entry: EntryPoint, count: int) -> list[RequestRecord]:
    payloads = load_payloads(entry.payloads)
    client = PredictionClient(entry, timeout_s=2.0)
    try:
        return [client.send(payloads[i % len(payloads)]) for i in range(count)]
    finally:
        client.close()


def _write_report(records: list[RequestRecord], backend: str, reports_dir: Path) -> Path:
    out = reports_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-stack-demo"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "requests.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[field.name for field in dataclasses.fields(RequestRecord)])
        writer.writeheader()
        writer.writerows(dataclasses.asdict(record) for record in records)
    served = collections.Counter(record.served_by or "-" for record in records)
    summary = {
        "backend": backend,
        "requests": len(records),
        "failed": sum(not record.ok for record in records),
        "served_by": dict(served),
        "model_versions": dict(collections.Counter(record.model_version or "-" for record in records)),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out


def _summary(records: list[RequestRecord]) -> Table:
    table = Table(title=f"{len(records)} predictions through the gateway")
    for column in ("served by", "model version", "degraded", "requests", "ok", "accuracy", "p50 ms"):
        table.add_column(column, justify="right" if column in ("requests", "ok", "accuracy", "p50 ms") else "left")
    groups: dict[tuple[str, str, bool], list[RequestRecord]] = collections.defaultdict(list)
    for record in records:
        groups[(record.served_by or "-", record.model_version or "-", record.degraded)].append(record)
    for (served_by, version, degraded), group in sorted(groups.items()):
        labeled = [r for r in group if r.ok and r.label is not None]
        accuracy = sum(r.prediction == r.label for r in labeled) / len(labeled) if labeled else float("nan")
        table.add_row(
            served_by,
            version,
            str(degraded).lower(),
            str(len(group)),
            str(sum(r.ok for r in group)),
            f"{accuracy:.3f}",
            f"{statistics.median(r.latency_s for r in group) * 1000:.1f}",
        )
    return table

"""Report generation's cost, measured and printed (never asserted).

    PYTHONPATH=$PWD .venv/bin/python tests/benchmarks/report_bench.py [--records 180000 1000000]

For each size, a synthetic run at 300 req/s (180,000 records: a 10-minute run;
1,000,000: 55 minutes), with a fault and an outage every 2 minutes, labelled
answers and HAProxy state changes, scored by the real scoring code before
anything is timed. Then times, as the runner does it: the chart's buckets
(`bucket_series`, 1 s), and each of the four reports (`write_reports`:
result.json, report.html with its chart, junit.xml, summary.md); and, as
`failover report` does it, the whole regeneration from the stored run folder
(reading requests.parquet included). Prints seconds and the HTML's size.
Targets: <= 10 s and HTML <= 5 MB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `harness` is importable when run as a script

from harness.report.regenerate import chart_buckets, regenerate_run  # noqa: E402
from harness.report.html import write_html  # noqa: E402
from harness.report.json_report import write_result  # noqa: E402
from harness.report.junit import write_junit  # noqa: E402
from harness.report.markdown import summary_markdown  # noqa: E402
from harness.result import FaultWindow, RequestTotals, RunResult  # noqa: E402
from harness.scenario import SLOs  # noqa: E402
from harness.scoring import COLUMNS, score_fault  # noqa: E402

START = 1_700_000_000.0
RATE = 300.0
PROBE_RATE = 100.0
FAULT_EVERY_S = 120.0
OUTAGE_S = 4.0
TARGET_S = 10.0
TARGET_HTML_BYTES = 5_000_000
SLOS = SLOs.model_validate(
    {"rto": 5.0, "availability": 0.99, "latency": {"p50": 0.05, "p95": 0.25, "p99": 0.5}, "accuracy": 0.9}
)


def records(n: int) -> pd.DataFrame:
    """n records at RATE: a probe stream and Locust; every fault's first OUTAGE_S seconds fail."""
    rng = np.random.default_rng(1729)
    offset = np.sort(rng.uniform(0, n / RATE, n))
    ok = (offset % FAULT_EVERY_S) >= OUTAGE_S
    label = rng.integers(0, 10, n)
    prediction = np.where(rng.random(n) < 0.97, label, (label + 1) % 10)
    columns = {
        "sent_at": START + offset,
        "latency_s": np.where(ok, rng.lognormal(np.log(0.012), 0.5, n), 0.002),
        "ok": ok,
        "status": np.where(ok, 200, 503),
        "error": np.where(ok, "", "no server available"),
        "served_by": np.where(ok, "model-a", ""),
        "model_version": np.where(ok, "v2", ""),
        "degraded": np.zeros(n, bool),
        "request_id": [f"{i:032x}" for i in range(n)],
        "prediction": pd.Series(prediction, dtype="Int64").where(ok),
        "label": label,
        "source": np.where(rng.random(n) < PROBE_RATE / RATE, "probe", "locust"),
    }
    return pd.DataFrame({name: pd.Series(values, dtype=COLUMNS[name]) for name, values in columns.items()})


def run_result(frame: pd.DataFrame) -> tuple[RunResult, pd.DataFrame]:
    end = float(frame["sent_at"].max())
    injections = START + np.arange(FAULT_EVERY_S, end - START - 30, FAULT_EVERY_S)
    windows = [
        FaultWindow(index=i, type="kill", target="model-a", injected_at=float(at), reverted_at=float(at) + 10)
        for i, at in enumerate(injections)
    ]
    states = pd.DataFrame(
        [(at + delay, "model-a", state) for at in injections for delay, state in ((0.3, "DOWN"), (OUTAGE_S, "UP"))],
        columns=["t", "server", "state"],
    )
    scores = [
        score_fault(frame, window, SLOS, probe_rate=PROBE_RATE, observation_end=end, signals=states,
                    signal_server="model-a", next_fault=windows[i + 1] if i + 1 < len(windows) else None)
        for i, window in enumerate(windows)
    ]  # fmt: skip
    ok = int(frame["ok"].sum())
    probes = int((frame["source"] == "probe").sum())
    result = RunResult(
        scenario="report-bench", backend="local", verdict="pass", started_at=START - 5, finished_at=end + 5,
        load_ended_at=end, steady_state_ok=True, faults=scores,
        requests=RequestTotals(
            total=len(frame), ok=ok, failed=len(frame) - ok, probe=probes, locust=len(frame) - probes
        ),
    )  # fmt: skip
    return result, states


def timed(label: str, timings: dict[str, float], call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = call()
    timings[label] = time.perf_counter() - started
    return value


def bench(n: int) -> None:
    frame = records(n)
    result, states = run_result(frame)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        frame.to_parquet(out / "requests.parquet")
        states.to_csv(out / "server_states.csv", index=False)
        timings: dict[str, float] = {}
        buckets = timed("buckets", timings, lambda: chart_buckets(result, frame))
        timed("result.json", timings, lambda: write_result(result, out))
        html = timed("report.html", timings, lambda: write_html(result, buckets, out, states))
        timed("junit.xml", timings, lambda: write_junit([result], out / "junit.xml"))
        timed("summary.md", timings, lambda: (out / "summary.md").write_text(summary_markdown(result)))
        started = time.perf_counter()
        regenerate_run(out)
        regenerated_s = time.perf_counter() - started
        html_bytes = html.stat().st_size
        json_bytes = (out / "result.json").stat().st_size
    total = sum(timings.values())
    minutes = (float(frame["sent_at"].max()) - START) / 60
    print(f"{n:,} records ({minutes:.0f} min at {RATE:g} req/s), {len(result.faults)} faults, {len(buckets):,} buckets")
    for label, seconds in timings.items():
        print(f"  {label:16} {seconds:7.3f} s")
    print(f"  {'all four':16} {total:7.3f} s   {total / TARGET_S:.3f} of the {TARGET_S:g} s target")
    print(f"  {'failover report':16} {regenerated_s:7.3f} s   (from the folder: parquet read, buckets, four reports)")
    print(f"  report.html {html_bytes / 1e6:.2f} MB ({html_bytes / TARGET_HTML_BYTES:.3f} of the 5 MB target), "
          f"result.json {json_bytes / 1e6:.2f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[180_000, 1_000_000])
    for n in parser.parse_args().records:
        bench(n)


if __name__ == "__main__":
    main()

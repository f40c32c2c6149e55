"""The probe stream's schedule accuracy: lateness figures, drift, and the warning that brackets widened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.load.entry import EntryPoint
from harness.load.probe_process import ProbeProcess
from harness.load.schedule import ScheduleLog, summarize
from harness.result import ProbeFacts
from harness.scenario import Load


def test_p50_and_p99_are_interpolated_between_probes() -> None:
    facts = summarize([i / 1000 for i in range(101)], rate=10.0)  # 0..100 ms
    assert facts["late_p50_s"] == pytest.approx(0.050)
    assert facts["late_p99_s"] == pytest.approx(0.099)
    assert facts["late_max_s"] == pytest.approx(0.100)


def test_a_stream_that_kept_up_reports_its_lateness_and_no_warning() -> None:
    facts = summarize([0.0002, 0.0001, 0.0004, 0.0003, 0.0005], rate=100.0, behind_at_stop_s=0.0001)
    assert facts["sent"] == 5
    assert facts["interval_s"] == pytest.approx(0.01)
    assert facts["late_p50_s"] == pytest.approx(0.0003)
    assert facts["late_p50_s"] <= facts["late_p99_s"] <= facts["late_max_s"] == pytest.approx(0.0005)
    assert facts["behind_at_stop_s"] == pytest.approx(0.0001)
    assert facts["behind"] is None


def test_more_than_one_probe_in_a_hundred_later_than_one_interval_warns_that_brackets_are_wider() -> None:
    facts = summarize([0.001] * 95 + [0.025] * 5, rate=100.0)
    assert facts["late_max_s"] == pytest.approx(0.025)
    assert facts["behind"] is not None
    assert "25.0 ms late or more" in facts["behind"] and "10 ms" in facts["behind"]


def test_one_late_probe_in_a_hundred_does_not_warn() -> None:
    facts = summarize([0.001] * 99 + [0.025], rate=100.0)
    assert facts["late_max_s"] == pytest.approx(0.025)
    assert facts["behind"] is None


def test_a_clock_read_before_the_plan_counts_as_on_time() -> None:
    facts = summarize([-0.0001, 0.0002], rate=10.0)
    assert facts["late_p50_s"] == pytest.approx(0.0001)
    assert min(facts["late_p50_s"], facts["late_max_s"]) >= 0


def test_no_probe_sent_means_no_lateness_figures() -> None:
    facts = summarize([], rate=50.0)
    assert facts["sent"] == 0
    assert facts["late_p50_s"] is facts["late_p99_s"] is facts["late_max_s"] is None
    assert facts["behind"] is None


def test_the_log_keeps_every_probe_and_the_drift_at_stop() -> None:
    log = ScheduleLog(rate=1000.0)
    for late in (0.0001, 0.002, 0.0003):
        log.sent(late)
    log.stopped(-0.0004)  # stopped while the next probe was still ahead: no drift
    facts = log.summary()
    assert facts["sent"] == 3
    assert facts["behind_at_stop_s"] == 0.0
    assert facts["behind"] is not None  # 2 ms late at a 1 ms interval


def test_the_summary_is_what_a_run_result_carries() -> None:
    facts = ProbeFacts(**ScheduleLog(rate=100.0).summary())
    assert facts.sent == 0 and facts.rate == 100.0


def test_the_probe_process_reads_its_workers_schedule_and_none_before_it_is_written(tmp_path: Path) -> None:
    entry = EntryPoint(url="http://127.0.0.1:9/predict", payloads=tmp_path / "p.jsonl")
    process = ProbeProcess(entry, 100, 1.0, tmp_path)
    assert process.schedule() is None
    process.schedule_path.write_text(json.dumps(summarize([0.001, 0.002], rate=100.0)))
    facts = process.schedule()
    assert facts is not None and facts["sent"] == 2


def test_a_probe_rate_beyond_the_measured_ceiling_is_refused_naming_the_benchmark() -> None:
    assert Load.model_validate({"probe_rate": 1000}).probe_rate == 1000
    with pytest.raises(ValidationError, match=r"1001 is more than 1000: .*tests/benchmarks/probe_bench\.py"):
        Load.model_validate({"probe_rate": 1001})

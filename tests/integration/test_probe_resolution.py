"""The real probe process against a real local server: it reports how well it kept its schedule, and a
higher probe rate locates a real outage's end more finely (a partition through a private toxiproxy-server);
a run on the local stack (under the stack lock) carries the figures in result.json.

Figures (how late, how fine) are printed by tests/benchmarks/probe_bench.py; here only presence,
ordering and sanity are asserted.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import scoring
from harness.cli import main
from harness.faults.hop.partition import Partition
from harness.faults.hop.toxic import toxiproxy_api
from harness.load.payloads import DEFAULT_PAYLOADS, load_payloads
from harness.load.probe import ProbeStream
from harness.load.probe_process import ProbeProcess
from harness.records import RequestRecord
from harness.result import FaultScore, FaultWindow
from harness.scenario import Load, SLOs
from tests.conftest import local_binaries_available, require
from tests.integration._procs import HOST, free_port
from tests.integration._runs import read_result, write_scenario
from tests.integration.test_locust_run import FakeModelServer, _entry, serve
from tests.integration.test_toxiproxy_faults import HOP, toxiproxy  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
SLOS = SLOs(availability=0.99, bucket=0.5, stable_for=1.0)
"""A bucket that holds 5 probes at the slow rate below (the scenario's own minimum)."""
OUTAGE_S = 1.0


@pytest.fixture
def server_url() -> Iterator[str]:
    with serve(FakeModelServer()) as url:
        yield url


@pytest.fixture
def hop_url(toxiproxy: tuple[str, subprocess.Popen[bytes]], server_url: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    """(Toxiproxy API URL, the fake server's URL through HOP)."""
    api_url, _ = toxiproxy
    api = toxiproxy_api(api_url)
    api.get_proxy(HOP).destroy()
    listen = free_port()
    api.create(upstream=server_url.removeprefix("http://"), name=HOP, listen=f"{HOST}:{listen}")
    yield api_url, f"http://{HOST}:{listen}"


def test_the_probe_process_records_how_late_it_sent(server_url: str, tmp_path: Path) -> None:
    probe = ProbeProcess(_entry(server_url), rate=200.0, timeout_s=1.0, workdir=tmp_path)
    probe.start()
    time.sleep(2.0)
    probe.stop()
    facts, records = probe.schedule(), probe.records()
    assert facts is not None, "the worker wrote its schedule when stopped"
    assert facts["rate"] == 200.0 and facts["interval_s"] == pytest.approx(0.005)
    assert facts["sent"] == len(records) > 0, "every probe sent has its record"
    assert 0.0 <= facts["late_p50_s"] <= facts["late_p99_s"] <= facts["late_max_s"]
    assert facts["behind_at_stop_s"] >= 0.0
    assert (facts["behind"] is None) == (facts["late_p99_s"] <= facts["interval_s"])


def _outage_score(load: Load, toxiproxy_url: str, url: str, workdir: Path) -> FaultScore:
    """One partition of OUTAGE_S seen by a probe process at the scenario's rate, scored as the runner does."""
    outage = Partition(toxiproxy_url, HOP)
    probe = ProbeProcess(_entry(url), load.probe_rate, load.probe_timeout, workdir)
    probe.start()
    try:
        time.sleep(1.5)
        injected_at = time.time()
        outage.inject()
        time.sleep(OUTAGE_S)
        outage.revert()
        reverted_at = time.time()
        time.sleep(SLOS.stable_for + 1.0)
    finally:
        outage.revert()
        probe.stop()
    window = FaultWindow(index=0, type="partition", target=HOP, injected_at=injected_at, reverted_at=reverted_at)
    records = scoring.records_frame(probe.records())
    return scoring.score_fault(records, window, SLOS, probe_rate=load.probe_rate, observation_end=time.time())


def test_a_higher_probe_rate_brackets_a_real_outage_more_finely(hop_url: tuple[str, str], tmp_path: Path) -> None:
    toxiproxy_url, url = hop_url
    slow, fast = Load(users=0, rate=0, probe_rate=10), Load(users=0, rate=0, probe_rate=500)
    coarse = _outage_score(slow, toxiproxy_url, url, tmp_path / "slow")
    fine = _outage_score(fast, toxiproxy_url, url, tmp_path / "fast")
    for score in (coarse, fine):
        assert score.failed_requests > 0, "the outage was seen"
        assert score.rto_s is not None and score.rto_bracket_s is not None, "the recovery was seen"
        assert score.rto_bracket_s[0] <= score.rto_bracket_s[1] == score.rto_s
    assert coarse.rto_resolution_s >= 1 / slow.probe_rate, "never finer than the probes were planned"
    width = {name: s.rto_bracket_s[1] - s.rto_bracket_s[0] for name, s in (("coarse", coarse), ("fine", fine))}  # type: ignore[index]
    assert width["fine"] < width["coarse"]
    assert fine.rto_resolution_s < coarse.rto_resolution_s, "the resolution is the spacing the probes achieved"


def test_a_stream_with_a_record_sink_hands_over_every_record_and_keeps_none(server_url: str) -> None:
    handed: list[RequestRecord] = []
    stream = ProbeStream(_entry(server_url), load_payloads(DEFAULT_PAYLOADS), rate=100.0, on_record=handed.append)
    with stream:
        time.sleep(1.0)
    assert stream.records() == [], "nothing kept: the probe worker's heap does not grow with the run"
    assert len(handed) == stream.schedule.summary()["sent"] > 0
    assert all(record.ok for record in handed)


def test_a_run_reports_how_well_its_probes_kept_their_schedule(isolated_state: Path, tmp_path: Path) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    fault = "{at: 1s, action: partition, target: gateway->model-a, duration: 1s}"
    scenario, reports = write_scenario(tmp_path, "probe-schedule", fault), tmp_path / "reports"
    main(["run", str(scenario), "--backend", "local", "--project", "failover-test-probes", "--reports-dir", str(reports)])
    result = read_result(reports)
    probes = result["probes"]
    assert probes is not None, result["reason"]
    assert probes["rate"] == 50 and probes["sent"] == result["requests"]["probe"] > 0, "every probe sent was scored"
    assert 0.0 <= probes["late_p50_s"] <= probes["late_p99_s"] <= probes["late_max_s"]
    assert (probes["behind"] is None) == (probes["late_p99_s"] <= probes["interval_s"])
    (scored,) = result["faults"]
    assert scored["rto_resolution_s"] >= probes["interval_s"]

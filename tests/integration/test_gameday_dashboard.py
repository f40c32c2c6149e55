"""The live dashboard in a real browser (Debian's Chromium, driven by Playwright) against a real run on
the local stack: it renders, the numbers move, two viewers watch at once, a note made there reaches the
run, and its abort button reverts every fault (verdict aborted)."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import local_binaries_available, require
from tests.integration._runs import (
    journal_events,
    read_result,
    wait_until,
    write_scenario,
)
from tests.integration.test_gameday_control import (
    LATENCY,
    failover,
    finish,
    kept_up_run,
)

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium")
SCREENSHOT = "dashboard.png"


@pytest.fixture
def browser() -> Iterator[Any]:
    require(CHROMIUM is not None, "chromium missing (run: make setup)")
    require(importlib.util.find_spec("playwright") is not None, "playwright missing (pip install -e '.[dev]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_the_dashboard_shows_the_run_live_and_its_abort_reverts_everything(
    browser: Any, isolated_state: Path, tmp_path: Path
) -> None:
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    scenario = write_scenario(tmp_path, "dashboard", LATENCY)
    scenario.write_text(scenario.read_text() + "runbook:\n  - {at: 0s, step: 'watch p95 on model-a'}\n")
    reports = tmp_path / "reports"
    harness = kept_up_run(scenario, reports, isolated_state, "--dashboard")
    try:
        wait_until(lambda: "fault-injected" in journal_events(reports), "the latency fault is in", harness)
        address = failover(isolated_state, "dashboard")
        assert address.returncode == 0, address.stderr
        url = address.stdout.strip()
        viewer, other = browser.new_page(), browser.new_page()
        for page in (viewer, other):
            page.goto(url)
            page.wait_for_function("document.getElementById('rate').textContent.endsWith('/s')")
        first = viewer.inner_text("#elapsed")
        viewer.wait_for_function(f"document.getElementById('elapsed').textContent !== {first!r}")
        assert "latency latency=200ms jitter=0ms on gateway-model-a" in viewer.inner_text("#faults")
        metrics = httpx.get(url.split("/?")[0] + "/metrics").text
        assert "failover_active_faults 1.0" in metrics and 'failover_probes_total{outcome="ok"}' in metrics, metrics
        assert viewer.inner_text("#step") == "watch p95 on model-a"
        viewer.fill("#author", "dana")
        viewer.fill("#note-text", "dashboard note: p95 doubled")
        viewer.click("#note")
        other.wait_for_selector("#notes li:has-text('dana: dashboard note: p95 doubled')")
        viewer.screenshot(path=str(tmp_path / SCREENSHOT), full_page=True)
        viewer.on("dialog", lambda dialog: dialog.accept())
        viewer.click("#abort")
        other.wait_for_function("document.getElementById('status').textContent === 'run ended'", timeout=120_000)
    finally:
        clean = finish(harness, reports)
    assert clean, "the abort reverted the latency toxic"
    result = read_result(reports)
    assert result["verdict"] == "aborted" and result["reason"] == "aborted by dana (failover abort)", result["reason"]
    assert [note["text"] for note in result["notes"]] == ["dashboard note: p95 doubled"]

"""The live view: its statistics on synthetic frames, and both of its outputs rendered to a string."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from harness.live_view import (
    SETTLE_S,
    SPARKLINE_S,
    LiveView,
    WindowStats,
    availability_per_second,
    shares_text,
    sparkline,
    summary_line,
    window_stats,
)

NOW = 1_700_000_000.0
END = NOW - SETTLE_S
"""Where the view's windows end when its clock reads NOW."""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def requests(
    finished: Sequence[float],
    *,
    latency: float | Sequence[float] = 0.01,
    ok: bool | Sequence[bool] = True,
    served_by: str | Sequence[str] = "model-a",
    degraded: bool | Sequence[bool] = False,
) -> pd.DataFrame:
    """Requests that finished at `finished` (epoch s); scalars apply to every request."""
    n = len(finished)
    latency_s = np.broadcast_to(np.asarray(latency, np.float64), n)
    ok_ = np.broadcast_to(np.asarray(ok, bool), n)
    return pd.DataFrame(
        {
            "sent_at": np.asarray(finished, np.float64) - latency_s,
            "latency_s": latency_s,
            "ok": ok_,
            "status": np.where(ok_, 200, 503),
            "served_by": pd.Series(np.broadcast_to(np.asarray(served_by, object), n), dtype="str"),
            "degraded": np.broadcast_to(np.asarray(degraded, bool), n),
        }
    )


def evenly(start: float, end: float, rate: float) -> np.ndarray:
    """`rate` per second in [start, end), each in the middle of its slot (no request on a window's edge)."""
    count = round((end - start) * rate)
    return start + (np.arange(count) + 0.5) / rate


def steady_frame() -> pd.DataFrame:
    """100 req/s for the last 30 s, alternating model-a and model-b, every 10th failing."""
    finished = evenly(END - 30, END, 100.0)
    index = np.arange(len(finished))
    return requests(finished, ok=index % 10 != 0, served_by=np.where(index % 2 == 0, "model-a", "model-b"))


def plain(console: Console) -> str:
    return ANSI.sub("", console.file.getvalue())  # type: ignore[attr-defined]


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100)


def ci_log() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


def view(console: Console, frame: Callable[[], pd.DataFrame], faults: Callable[[], list[str]], **kw: float) -> LiveView:
    return LiveView(console, "replica-kill", frame, faults, clock=lambda: NOW, **kw)


def stamp() -> str:
    return time.strftime("%H:%M:%S", time.localtime(NOW))


# -- window_stats --------------------------------------------------------------------------------


def test_rate_counts_the_requests_finished_in_the_window() -> None:
    frame = requests(evenly(END - 10, END, 100.0))

    assert window_stats(frame, END - 1, END).requests == 100
    assert window_stats(frame, END - 1, END).rate == pytest.approx(100.0)
    assert window_stats(frame, END - 4, END).rate == pytest.approx(100.0)
    assert window_stats(frame, END - 20, END).rate == pytest.approx(50.0)


def test_error_rate_is_the_share_of_failed_requests() -> None:
    finished = evenly(END - 1, END, 100.0)
    stats = window_stats(requests(finished, ok=np.arange(100) % 4 != 0), END - 1, END)

    assert stats.error_rate == pytest.approx(0.25)


def test_latency_percentiles_interpolate_like_numpy() -> None:
    latency = np.arange(1, 101) / 1000.0  # 1 ms .. 100 ms
    stats = window_stats(requests(evenly(END - 1, END, 100.0), latency=latency), END - 1, END)

    assert stats.p50_s == pytest.approx(0.0505)
    assert stats.p95_s == pytest.approx(0.09505)


def test_shares_per_replica_by_name_and_unanswered_last() -> None:
    served = ["model-b", "", "model-a", "model-a", "model-a"]
    stats = window_stats(requests(evenly(END - 1, END, 5.0), served_by=served), END - 1, END)

    assert stats.served_by == pytest.approx({"model-a": 0.6, "model-b": 0.2, "": 0.2})
    assert list(stats.served_by) == ["model-a", "model-b", ""]
    assert shares_text(stats.served_by) == "model-a 60% · model-b 20% · none 20%"


def test_degraded_share() -> None:
    stats = window_stats(requests(evenly(END - 1, END, 4.0), degraded=[True, False, False, False]), END - 1, END)

    assert stats.degraded == pytest.approx(0.25)


def test_a_request_belongs_to_the_window_it_finished_in() -> None:
    """A probe sent 1.5 s ago that timed out after 1.2 s is news of the last second; one still in flight is not."""
    frame = requests([END - 0.3, END + 0.1], latency=1.2, ok=False)

    stats = window_stats(frame, END - 1, END)

    assert stats.requests == 1
    assert stats.error_rate == 1.0


@pytest.mark.parametrize("frame", [pd.DataFrame(), requests([])], ids=["no columns", "no rows"])
def test_an_empty_frame_measures_nothing(frame: pd.DataFrame) -> None:
    assert window_stats(frame, END - 1, END) == WindowStats()
    assert availability_per_second(frame, END) == [None] * SPARKLINE_S


def test_a_window_without_requests_has_a_rate_of_zero_and_nothing_else() -> None:
    stats = window_stats(requests([END - 10]), END - 1, END)

    assert stats == WindowStats(rate=0.0)


# -- availability and the sparkline ----------------------------------------------------------------


def test_availability_per_second_oldest_first() -> None:
    last_two = evenly(END - 2, END, 10.0)
    ok = np.r_[np.ones(10, bool), np.arange(10) % 2 == 0]  # second to last: all ok; last: half
    frame = requests(np.r_[END - 29.5, last_two], ok=np.r_[False, ok])

    availability = availability_per_second(frame, END)

    assert len(availability) == SPARKLINE_S
    assert availability[0] == 0.0
    assert availability[1:-2] == [None] * (SPARKLINE_S - 3)
    assert availability[-2:] == [1.0, 0.5]


def test_availability_ignores_requests_outside_the_seconds() -> None:
    frame = requests([END - SPARKLINE_S - 0.5, END + 0.5])

    assert availability_per_second(frame, END) == [None] * SPARKLINE_S


def test_sparkline_is_full_only_at_100_percent_and_red_below() -> None:
    line = sparkline([1.0, 0.99, 0.5, 0.0, None])

    assert line.plain == "█▇▄▁·"
    styles = [str(span.style) for span in line.spans]
    assert styles == ["green", "red", "red", "red", "dim"]


def test_summary_line() -> None:
    stats = WindowStats(
        requests=490, rate=98.0, error_rate=0.005, p50_s=0.01, p95_s=0.0352, degraded=0.0,
        served_by={"model-a": 0.48, "model-b": 0.52},
    )

    assert summary_line(stats) == "98.0 req/s · errors 0.5% · p95 35.2 ms · model-a 48% · model-b 52%"
    assert summary_line(WindowStats()) == "— req/s · errors — · p95 — · —"


def test_summary_line_shows_degraded_only_when_some_are() -> None:
    stats = WindowStats(requests=1, rate=1.0, error_rate=0.0, p95_s=0.5, degraded=0.25, served_by={"model-fallback": 1.0})

    assert "degraded 25%" in summary_line(stats)


# -- CI logs (not a terminal) ------------------------------------------------------------------------


def test_ci_log_phase_and_note_are_timestamped_lines() -> None:
    console = ci_log()
    with view(console, steady_frame, list) as live:
        live.phase("warm-up 3s")
        live.note("[bold red]aborting: stop condition[/]")

    assert plain(console).splitlines()[:2] == [f"  {stamp()} warm-up 3s", f"  {stamp()} aborting: stop condition"]
    assert "╭" not in plain(console)


def test_a_phase_set_again_adds_no_line() -> None:
    console = ci_log()
    with view(console, steady_frame, list) as live:
        live.phase("faults: kill model-a")
        live.phase("faults: kill model-a")  # a runbook step at the fault's moment: the faults did not change
        live.phase("faults: none (observing recovery)")

    assert plain(console).splitlines()[:2] == [
        f"  {stamp()} faults: kill model-a",
        f"  {stamp()} faults: none (observing recovery)",
    ]


def test_ci_log_prints_a_status_line_periodically() -> None:
    sampled = threading.Event()

    def frame() -> pd.DataFrame:
        sampled.set()
        return steady_frame()

    console = ci_log()
    with view(console, frame, list, summary_interval=0.01):
        assert sampled.wait(timeout=10)
    # exit joins the thread, so the status line of that sample has been printed

    expected = summary_line(window_stats(steady_frame(), END - 0.01, END))  # the clock stands still
    assert f"  {stamp()} last 0.01 s: {expected}" in plain(console).splitlines()
    assert "req/s · errors" in expected
    assert not [thread for thread in threading.enumerate() if thread.name == "live-view"]


def test_ci_log_shows_a_failing_frame_and_carries_on() -> None:
    failed = threading.Event()

    def frame() -> pd.DataFrame:
        failed.set()
        raise RuntimeError("probe file vanished")

    console = ci_log()
    with view(console, frame, list, summary_interval=0.01) as live:
        assert failed.wait(timeout=10)
        live.note("still running")

    output = plain(console)
    assert "live view: RuntimeError: probe file vanished" in output
    assert "still running" in output


def test_summary_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        view(ci_log(), steady_frame, list, summary_interval=0)


# -- terminal (rich Live) ------------------------------------------------------------------------------


def final_panel(console: Console) -> str:
    """The panel left in the scroll-back when the view exits."""
    output = plain(console)
    return output[output.rindex("╭") :]


def test_terminal_panel_shows_phase_faults_and_shares() -> None:
    console = terminal()
    with view(console, steady_frame, lambda: ["kill model-a"]) as live:
        live.phase("faults: kill model-a")

    panel = final_panel(console)
    assert "replica-kill" in panel
    assert "faults: kill model-a" in panel
    assert "kill model-a" in panel.split("faults: kill model-a", 1)[1]  # the faults row, not just the phase
    assert "model-a 50% · model-b 50%" in panel
    assert "last 1 s" in panel and "run" in panel
    assert "100.0" in panel  # req/s
    assert "10%" in panel  # errors
    assert "▇" * 5 in panel  # 90% available every second


def test_terminal_notes_stay_above_the_panel() -> None:
    console = terminal()
    with view(console, steady_frame, list) as live:
        live.note("injected kill model-a")

    output = plain(console)
    assert f"{stamp()} injected kill model-a" in output
    assert output.rindex("injected kill model-a") < output.rindex("╭")


def test_terminal_panel_with_an_empty_frame_shows_dashes() -> None:
    console = terminal()
    with view(console, pd.DataFrame, list):
        pass

    panel = final_panel(console)
    assert "faults     none" in panel
    rows = [line for line in panel.splitlines() if "last 1 s" in line or " run " in line]
    assert len(rows) == 2
    assert all(row.count("—") == 6 for row in rows)


def test_terminal_panel_shows_errors_instead_of_dying() -> None:
    def broken_faults() -> list[str]:
        raise KeyError("timeline")

    console = terminal()
    with view(console, steady_frame, broken_faults) as live:
        live.phase("warm-up 3s")

    panel = final_panel(console)
    assert "live view: KeyError: 'timeline'" in panel
    assert "warm-up 3s" in panel and "model-a 50%" in panel  # the rest of the panel still shows


def test_terminal_panel_shows_a_failing_frame() -> None:
    def frame() -> pd.DataFrame:
        return pd.DataFrame({"sent_at": [NOW]})  # no latency_s

    console = terminal()
    with view(console, frame, list) as live:
        live.phase("warm-up 3s")

    panel = final_panel(console)
    assert "live view: KeyError" in panel
    assert "warm-up 3s" in panel


def test_terminal_panel_that_cannot_render_says_why() -> None:
    console = terminal()
    with view(console, steady_frame, list) as live:
        live.phase("[/bold] is not markup")

    assert "live view: MarkupError" in final_panel(console)

"""What the load sees while a scenario runs: a live panel on a terminal, status lines in CI logs.

Windows count requests by when they *finished* (sent_at + latency_s), not when
they were sent: the records of requests still in flight do not exist yet, so
a window of the last second by sent_at would be missing exactly the slow and
hung requests an operator is watching for (with a 2 s probe timeout, all of
them). Every window ends `SETTLE_S` ago, because the probe worker writes its
records in batches. The report still judges by sent_at (`harness.scoring`).

Fetching the frame is the expensive part (building it from 100k records takes
~0.4 s), so one sampler thread fetches and summarises it, within
`SAMPLING_BUDGET`; rendering only formats its latest snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from harness.load.probe_worker import FLUSH_INTERVAL_S
from harness.report import formatting as fmt

REFRESH_PER_SECOND = 4
RECENT_S = 1.0
SPARKLINE_S = 30
SETTLE_S = FLUSH_INTERVAL_S + 0.1
"""Windows end this long ago: records reach the harness up to a flush interval after they finish."""
SAMPLING_BUDGET = 0.1
"""The share of the time the sampler may spend fetching and summarising (it waits longer after a slow fetch)."""
STALE_AFTER_S = 1.5
BLOCKS = "▁▂▃▄▅▆▇█"
NO_DATA = "·"


@dataclass(frozen=True)
class WindowStats:
    """Requests that finished in a window; None where there is nothing to measure."""

    requests: int = 0
    rate: float | None = None
    """Requests finished per second: 0.0 when none finished; None for an empty frame."""
    error_rate: float | None = None
    p50_s: float | None = None
    p95_s: float | None = None
    degraded: float | None = None
    served_by: dict[str, float] = field(default_factory=dict)
    """Share of the requests per replica, by name; '' (no replica answered) last."""


def window_stats(frame: pd.DataFrame, start: float, end: float) -> WindowStats:
    """Statistics of the requests that finished in [start, end)."""
    if frame.empty:
        return WindowStats()
    finished = _finished_at(frame)
    inside = (finished >= start) & (finished < end)
    requests = int(inside.sum())
    if requests == 0:
        return WindowStats(rate=0.0)
    kept = frame.loc[inside, ["latency_s", "ok", "degraded", "served_by"]]
    p50, p95 = np.quantile(kept["latency_s"].to_numpy(np.float64), (0.5, 0.95))
    shares = kept["served_by"].astype(str).value_counts(normalize=True)
    return WindowStats(
        requests=requests,
        rate=requests / (end - start),
        error_rate=(requests - int(kept["ok"].to_numpy(bool).sum())) / requests,
        p50_s=float(p50),
        p95_s=float(p95),
        degraded=int(kept["degraded"].to_numpy(bool).sum()) / requests,
        served_by={name: float(shares[name]) for name in sorted(shares.index, key=_none_last)},
    )


def availability_per_second(frame: pd.DataFrame, end: float, seconds: int = SPARKLINE_S) -> list[float | None]:
    """The share of ok requests per second over the `seconds` before `end`, oldest first; None where none finished."""
    if frame.empty:
        return [None] * seconds
    offset = _finished_at(frame) - (end - seconds)
    inside = (offset >= 0) & (offset < seconds)
    second = offset[inside].astype(np.int64)
    total = np.bincount(second, minlength=seconds)
    ok = np.bincount(second, weights=frame["ok"].to_numpy(bool)[inside], minlength=seconds)
    return [float(good / count) if count else None for good, count in zip(ok, total, strict=True)]


def sparkline(values: Sequence[float | None]) -> Text:
    """One block per value in [0, 1]: full only at 1.0, red below it; `NO_DATA` for None."""
    line = Text()
    for value in values:
        if value is None:
            line.append(NO_DATA, "dim")
            continue
        level = min(max(int(value * (len(BLOCKS) - 1)), 0), len(BLOCKS) - 1)
        line.append(BLOCKS[level], "green" if value >= 1.0 else "red")
    return line


def shares_text(served_by: dict[str, float]) -> str:
    """'model-a 48% · model-b 52%'; requests no replica answered are 'none'."""
    return " · ".join(f"{name or 'none'} {share:.0%}" for name, share in served_by.items()) or fmt.MISSING


def summary_line(stats: WindowStats) -> str:
    """'98.0 req/s · errors 0.5% · p95 35.2 ms · model-a 48% · model-b 52%' (plain text)."""
    parts = [f"{_rate(stats)} req/s", f"errors {fmt.fraction(stats.error_rate)}", f"p95 {fmt.seconds(stats.p95_s)}"]
    if stats.degraded:
        parts.append(f"degraded {fmt.fraction(stats.degraded)}")
    return " · ".join([*parts, shares_text(stats.served_by)])


def _none_last(name: str) -> tuple[bool, str]:
    return name == "", name


def _finished_at(frame: pd.DataFrame) -> np.ndarray:
    return frame["sent_at"].to_numpy(np.float64) + frame["latency_s"].to_numpy(np.float64)


def _run_start(frame: pd.DataFrame, end: float) -> float:
    """The first request's finish, at least a second before `end` (so one early request is not a huge rate)."""
    first = float(_finished_at(frame).min()) if not frame.empty else end
    return min(first, end - 1.0)


def _rate(stats: WindowStats) -> str:
    return fmt.MISSING if stats.rate is None else f"{stats.rate:.1f}"


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(max(int(seconds), 0), 60)
    return f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class _Snapshot:
    at: float
    recent: WindowStats
    run: WindowStats
    availability: list[float | None]


class LiveView:
    """Progress of a running scenario: `phase()` sets what it is doing, `note()` leaves a line behind.

    `requests` and `faults` are called from a background thread; `phase` and
    `note` text is rich markup, as with `Console.print`.
    """

    def __init__(
        self,
        console: Console,
        scenario_name: str,
        requests: Callable[[], pd.DataFrame],
        faults: Callable[[], list[str]],
        *,
        summary_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if summary_interval <= 0:
            raise ValueError("summary_interval must be positive")
        self.console = console
        self.scenario_name = scenario_name
        self._requests = requests
        self._faults = faults
        self._clock = clock
        self._terminal = console.is_terminal
        self._period = 1.0 / REFRESH_PER_SECOND if self._terminal else summary_interval
        self._recent_s = RECENT_S if self._terminal else summary_interval
        self._phase = ""
        self._started = clock()
        self._snapshot: _Snapshot | None = None
        self._error = ""
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample_loop, name="live-view", daemon=True)
        self._live: Live | None = None

    def __enter__(self) -> LiveView:
        self._started = self._clock()
        if self._terminal:
            self._live = Live(
                get_renderable=self._render,
                console=self.console,
                refresh_per_second=REFRESH_PER_SECOND,
                transient=False,
                redirect_stdout=True,
                redirect_stderr=True,
            )
            self._live.start()
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            self._sampler.join()
            if self._live is not None:
                self._sample()  # the panel left in the scroll-back shows the whole run
        finally:
            if self._live is not None:
                self._live.stop()

    def phase(self, text: str) -> None:
        """Set the current phase (e.g. 'warm-up 3s', 'faults: kill model-a'); it also stays in the scroll-back,
        once: the same phase set again (a runbook step at a fault's moment) adds no line."""
        if text == self._phase:
            return
        self._phase = text
        self._line(escape(text))
        if self._live is not None:
            self._live.refresh()

    @property
    def current_phase(self) -> str:
        """The phase last set (for the dashboard and `/metrics`)."""
        return self._phase

    def note(self, text: str) -> None:
        """A line that stays in the scroll-back (e.g. 'injected kill model-a', 'aborting: ...')."""
        self._line(text)

    def _line(self, markup: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self._clock()))
        self.console.print(f"  [dim]{stamp}[/] {markup}", soft_wrap=True)

    def _sample_loop(self) -> None:
        wait = self._period
        while not self._stop.wait(wait):
            started = time.perf_counter()
            self._sample()
            if self._live is None:
                self._print_summary()
            wait = max(self._period, (time.perf_counter() - started) / SAMPLING_BUDGET)

    def _sample(self) -> None:
        try:
            now = self._clock()
            frame = self._requests()
            end = now - SETTLE_S
            self._snapshot = _Snapshot(
                at=now,
                recent=window_stats(frame, end - self._recent_s, end),
                run=window_stats(frame, _run_start(frame, end), end),
                availability=availability_per_second(frame, end),
            )
            self._error = ""
        except Exception as error:  # a broken view must never stop the run
            self._error = f"{type(error).__name__}: {error}"

    def _print_summary(self) -> None:
        if self._error:
            self._line(f"[red]live view: {escape(self._error)}[/]")
        elif self._snapshot is not None:
            self._line(f"last {self._recent_s:g} s: {escape(summary_line(self._snapshot.recent))}")

    def _render(self) -> RenderableType:
        try:
            return self._panel()
        except Exception as error:  # Live's refresh thread dies on an exception
            return Panel(Text(f"live view: {type(error).__name__}: {error}", "red"), title=self.scenario_name)

    def _panel(self) -> Panel:
        now, snapshot = self._clock(), self._snapshot
        parts: list[RenderableType] = [self._status(snapshot), _metrics(snapshot)]
        if self._error:
            parts.append(Text(f"live view: {self._error}", "red"))
        stale = snapshot is not None and now - snapshot.at >= STALE_AFTER_S
        return Panel(
            Group(*parts),
            title=Text.assemble((self.scenario_name, "bold"), f" · {_elapsed(now - self._started)}"),
            title_align="left",
            subtitle=f"stats {now - snapshot.at:.0f} s old" if stale and snapshot else None,
        )

    def _status(self, snapshot: _Snapshot | None) -> Table:
        availability = snapshot.availability if snapshot else [None] * SPARKLINE_S
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column()
        grid.add_row("phase", Text.from_markup(self._phase) if self._phase else Text(fmt.MISSING))
        grid.add_row("faults", self._faults_text())
        legend = (f"  per second, last {SPARKLINE_S} s", "dim")
        grid.add_row("available", Text.assemble(sparkline(availability), legend))
        return grid

    def _faults_text(self) -> Text:
        """Asked at every refresh, not sampled: it is cheap, and a fault should show the moment it is in."""
        try:
            faults = ", ".join(self._faults())
        except Exception as error:
            return Text(f"live view: {type(error).__name__}: {error}", "red")
        return Text(faults or "none", "bold red" if faults else "")


def _metrics(snapshot: _Snapshot | None) -> Table:
    table = Table(box=None, pad_edge=False, header_style="dim")
    table.add_column("")
    for header in ("req/s", "errors", "p50", "p95", "degraded"):
        table.add_column(header, justify="right")
    table.add_column("served by")
    recent, run = (snapshot.recent, snapshot.run) if snapshot else (WindowStats(), WindowStats())
    for label, stats in ((f"last {RECENT_S:g} s", recent), ("run", run)):
        errors = Text(fmt.fraction(stats.error_rate), "red" if stats.error_rate else "")
        table.add_row(
            Text(label, "dim"),
            _rate(stats),
            errors,
            fmt.seconds(stats.p50_s),
            fmt.seconds(stats.p95_s),
            fmt.fraction(stats.degraded),
            Text(shares_text(stats.served_by)),
        )
    return table

"""A run's game day while it observes: state, live feed, metrics and control channel, started and stopped together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness.gameday.control import ControlServer, Views
from harness.gameday.dashboard import event_stream, page
from harness.gameday.feed import Feed, Sources
from harness.gameday.metrics import RunMetrics
from harness.gameday.session import GameDay
from harness.journal import Journal
from harness.scenario import Scenario


@dataclass(frozen=True)
class GameDayOptions:
    dashboard: bool = False
    """Print the dashboard's address (the channel serves it either way)."""
    port: int = 0
    """The control channel's port on 127.0.0.1; 0: any free one."""
    confirm_gates: bool = False
    """Confirm every runbook gate at once (unattended runs)."""


@contextmanager
def game_day(
    scenario: Scenario,
    journal: Journal,
    run_dir: Path,
    sources: Sources,
    options: GameDayOptions,
    console: Console,
    say: Callable[[str], None],
) -> Iterator[GameDay]:
    """The `GameDay` of this run, reachable by `failover note|abort|confirm|dashboard` until the block ends;
    `say` shows a line to the person at the terminal (rich markup)."""
    gameday = GameDay(journal, scenario.runbook, confirm_gates=options.confirm_gates, say=say)
    metrics = RunMetrics(scenario.name)
    with Feed(sources, gameday, metrics, scenario.name) as feed:
        views = Views(
            page=page,
            events=lambda: event_stream(feed.latest, lambda: gameday.live),
            metrics=metrics.exposition,
        )
        with ControlServer(gameday, run_dir, views, options.port) as server:
            runbook = [step.model_dump(mode="json", exclude_defaults=True) for step in scenario.runbook]
            journal.write("game-day", url=server.url, hypothesis=scenario.hypothesis, runbook=runbook)
            if options.dashboard:
                console.print(f"dashboard: [link]{server.dashboard_url()}[/link]  (metrics: {server.url}/metrics)", soft_wrap=True)
            gameday.start()
            try:
                yield gameday
            finally:
                gameday.stop()

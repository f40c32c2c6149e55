"""The pipeline of one scenario run.

validate -> up -> warm-up -> steady state -> faults on the timeline (stop
conditions watched) -> observe -> steady state again -> score -> report ->
down. Faults are reverted whatever happens: success, failure, an exception,
Ctrl-C or SIGTERM (turned into `RunInterrupted`).
"""

from __future__ import annotations

import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from harness import scoring
from harness.environment import run_environment
from harness.errors import HarnessError, InfrastructureError, describe_exception
from harness.gameday.feed import Sources
from harness.gameday.live import GameDayOptions, game_day
from harness.gameday.runbook import merge_events
from harness.gameday.session import GameDay
from harness.journal import Journal
from harness.live_view import LiveView
from harness.load.entry import EntryPoint
from harness.load.load_mix import LoadMix
from harness.observe.state_watch import StateWatch
from harness.report import write_reports
from harness.report.suite import SuiteRun
from harness.result import (
    FaultScore,
    FaultWindow,
    Note,
    ProbeFacts,
    RequestTotals,
    RunResult,
    TargetFacts,
)
from harness.run_facts import run_facts
from harness.scenario import Scenario
from harness.stack import Backend, Stack, StackSettings
from harness.stack.spec import REPO_ROOT
from harness.targets.target import Target
from harness.timeline import Timeline

_STOP_CHECK_INTERVAL_S = 0.5


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM: revert, report what was measured, exit."""


@dataclass
class RunOptions:
    backend: Backend | None = None
    """Overrides the scenario's backend."""
    settings: StackSettings = field(default_factory=StackSettings)
    reports_dir: Path = REPO_ROOT / "reports"
    keep_up: bool = False
    """Leave the stack up afterwards (and reuse one that is up)."""
    gameday: GameDayOptions = field(default_factory=GameDayOptions)
    """The dashboard, the control channel's port, gates confirmed at once (`harness/gameday/`)."""


@dataclass
class Observation:
    records: pd.DataFrame
    signals: pd.DataFrame
    steady_ok: bool
    steady_reason: str
    aborted: str
    observation_end: float
    locust_stats: dict[str, Any]
    missing_writes: set[str] | None
    """Acknowledged request ids not in the store after recovery; None when it could not be read back."""
    store_unread: str
    """Why the store could not be read back, when it could not."""
    rollout_events: list[dict[str, Any]] | None
    """The rollout controllers' decisions, read while the stack is still up; None when none reported."""
    notes: list[Note] = field(default_factory=list)
    """Operator notes (t, author, text), from `failover note` or the dashboard."""
    probes: ProbeFacts | None = None
    """How well the probe stream kept its schedule; None when its worker did not say."""


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: both raise `RunInterrupted` in the main thread."""

    def interrupt(signum: int, _frame: object) -> None:
        raise RunInterrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_ignored() -> Iterator[None]:
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ScenarioRun:
    def __init__(self, scenario: Scenario, target: Target, options: RunOptions, console: Console, trial: int = 1) -> None:
        self.scenario = scenario
        self.target = target
        self.options = options
        self.console = console
        self.trial = trial
        self.backend: Backend = options.backend or scenario.stack.backend or target.default_backend()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        suffix = f"-trial{trial}" if scenario.trials > 1 else ""
        self.out_dir = options.reports_dir / f"{stamp}-{scenario.name}{suffix}"

    def execute(self) -> RunResult:
        """The run's result. An infrastructure failure, any exception, or Ctrl-C/SIGTERM outside the
        fault timeline (stack up, load start-up, store read-back, scoring) becomes verdict 'error'
        (reported, not raised) after the clean-up; during the timeline an interrupt aborts the run."""
        started = time.time()
        stack = self.target.open_stack(self.backend, self.out_dir)  # bad settings: raised before anything is registered
        journal = Journal(self.out_dir / "journal.jsonl")
        journal.write("run-start", scenario=self.scenario.name, **run_facts(stack, self.target), **self._monkey_facts())
        context = self.target.fault_context(stack)
        timeline = Timeline(self.scenario, context, journal)
        self._stage = "start-up"
        with interrupts_raise():
            try:
                observation = self._observe_then_clean_up(stack, timeline, journal)
                self._stage = "scoring"
                return self._score(observation, timeline, started)
            except Exception as error:
                with signals_ignored():
                    return self._error_result(error, started)

    def _observe_then_clean_up(self, stack: Stack, timeline: Timeline, journal: Journal) -> Observation:
        """Up, then observe; whatever happens (an exception, Ctrl-C, SIGTERM) every fault is then
        reverted, the journal closed and the stack brought down, each step whatever the others raise.
        A clean-up that failed after a good observation raises `InfrastructureError`."""
        try:
            self._stage = "stack up"
            self.console.print(f"[bold]{self.scenario.name}[/]: bringing the stack up ({self.backend})")
            self.target.bring_up(stack, progress=self.console.is_terminal)
            self._stage = "the observation (load start-up, faults, store read-back)"
            observation = self._observe(stack, timeline)
        except BaseException as error:
            trace = "" if isinstance(error, (HarnessError, RunInterrupted)) else traceback.format_exc()
            journal.write("run-error", stage=self._stage, error=describe_exception(error), traceback=trace)
            raise
        finally:
            with signals_ignored():  # a second Ctrl-C must not cut the clean-up short
                problems = timeline.revert_all()
                reverted, down = not problems, False
                self._keep_logs(stack, journal)
                if not self.options.keep_up:
                    try:
                        down = self.target.tear_down(stack)
                    except Exception as error:
                        problems.append(f"the stack did not come down: {describe_exception(error)}")
                journal.write("run-end", reverted_everything=reverted, stack_down=down, problems=problems)
                journal.close(everything_reverted=reverted or down)  # a stack that is down keeps no fault
        if problems:
            raise InfrastructureError("clean-up failed: " + "; ".join(problems), "`failover heal` reverts what is left")
        return observation

    def _keep_logs(self, stack: Stack, journal: Journal) -> None:
        """The stack's logs into the run folder (`logs/`), before it goes down and takes them along."""
        try:
            problems = stack.save_logs(self.out_dir / "logs")
        except Exception as error:  # noqa: BLE001  (evidence only: the clean-up goes on)
            problems = [describe_exception(error)]
        if problems:
            journal.write("logs-not-kept", problems=problems)

    def _error_result(self, error: Exception, started: float) -> RunResult:
        result = RunResult(
            scenario=self.scenario.name,
            description=self.scenario.description,
            backend=self.backend,
            target=TargetFacts(**self.target.facts()),
            verdict="error",
            reason=self._error_reason(error),
            trial=self.trial,
            started_at=started,
            finished_at=time.time(),
            steady_state_ok=False,
            faults=[],
            requests=RequestTotals(total=0, ok=0, failed=0, probe=0, locust=0),
            environment=run_environment(self.target, self.backend, self.scenario),
        )
        write_reports(result, pd.DataFrame(), self.out_dir)
        return result

    def _error_reason(self, error: Exception) -> str:
        if isinstance(error, RunInterrupted):
            return f"interrupted by {error} during {self._stage}: nothing was scored"
        if isinstance(error, HarnessError):
            return f"{error.message} ({error.tip})" if error.tip else error.message
        return f"{describe_exception(error)} during {self._stage} (traceback in journal.jsonl)"

    def _monkey_facts(self) -> dict[str, Any]:
        """A monkey's settings and the schedule it picked, so the journal alone can replay the run."""
        monkey = self.scenario.monkey
        if monkey is None:
            return {}
        picked = [fault.model_dump(mode="json") for fault in self.scenario.timeline]
        return {"monkey": monkey.model_dump(mode="json", by_alias=True), "schedule": picked}

    def _observe(self, stack: Stack, timeline: Timeline) -> Observation:
        scenario = self.scenario
        aborted, steady_ok, reason = "", False, ""
        watchers = self.target.watchers()
        with (
            _watching(watchers),
            LoadMix(scenario.load, self._entry(), self.out_dir / "load") as load,
            LiveView(self.console, scenario.name, load.probe_frame, lambda: _active_faults(timeline)) as self._view,
            game_day(
                scenario,
                timeline.journal,
                self.out_dir,
                Sources(load.probe_frame, timeline, watchers, lambda: self._view.current_phase),
                self.options.gameday,
                self.console,
                say=lambda text: self._view.note(text),
            ) as self._gameday,
        ):
            try:
                self._phase(f"warm-up {scenario.steady_state.warmup:g}s")
                time.sleep(scenario.steady_state.warmup)
                steady_ok, reason = self._steady(load, "before the faults")
                if steady_ok:
                    aborted = self._run_timeline(timeline, load)
                    if not aborted:
                        steady_ok, reason = self._steady(load, "after the faults")
            except RunInterrupted as interrupt:
                aborted = self._gameday.abort_reason or f"interrupted by {interrupt}"
            observation_end = time.time()  # the last moment load was sent: later buckets would be empty
            load.stop()
            records = load.frame()
            try:
                missing, unread = self._read_store_back(records)
            except RunInterrupted as interrupt:  # what was measured so far is still scored
                missing, unread = None, f"interrupted by {interrupt} during the store read-back"
                aborted = aborted or unread
        rows = [row for watcher in watchers for row in watcher.rows()]
        return Observation(
            records=records,
            signals=pd.DataFrame(rows, columns=["t", "server", "state"]).sort_values("t", kind="stable"),
            steady_ok=steady_ok,
            steady_reason=reason,
            aborted=aborted,
            observation_end=observation_end,
            locust_stats=load.locust_stats(),
            missing_writes=missing,
            store_unread=unread,
            rollout_events=self.target.rollout_events(),
            notes=list(self._gameday.notes),
            probes=load.probe_facts(),
        )

    def _entry(self) -> EntryPoint:
        """The target's entry point; the scenario may bring its own payloads."""
        entry = self.target.entry
        payloads = self.scenario.load.payloads
        return entry if payloads is None else replace(entry, payloads=payloads)

    def _read_store_back(self, records: pd.DataFrame) -> tuple[set[str] | None, str]:
        """RPO's evidence: which acknowledged writes the store no longer has; (None, why) when not measured."""
        checker = self.target.lost_write_checker()
        if checker is None:
            return None, ""  # the target says why (`Target.not_measured`)
        acknowledged = list(records.loc[records["ok"], "request_id"])
        try:
            missing = checker.missing(acknowledged)
        except HarnessError as error:
            self.console.print(f"[yellow]lost writes not measured: {error.message}[/]")
            return None, f"the store could not be read back: {error.message}"
        self._phase(f"store read back: {len(missing):,} of {len(acknowledged):,} acknowledged writes missing")
        return missing, ""

    def _steady(self, load: LoadMix, when: str) -> tuple[bool, str]:
        window = self.scenario.steady_state.check
        self._phase(f"steady-state check {when} ({window:g}s)")
        start = time.time()
        # Probes sent near the end of the window answer up to a timeout later: wait for them too.
        time.sleep(window + self.scenario.load.probe_timeout)
        ok, reason = scoring.check_steady(load.probe_frame(since=start), start, start + window, self.scenario.slos)
        if not ok:
            self._view.note(f"[red]steady state not met {when}: {reason}[/]")
            return False, f"steady state not met {when}: {reason}"
        return True, ""

    def _run_timeline(self, timeline: Timeline, load: LoadMix) -> str:
        """Inject and revert on schedule, watching stop conditions; returns the abort reason, if any.

        The runbook's steps are on the same clock; while a gate waits or someone paused the timeline
        the clock stands still (`GameDay.held_s`), so every later event moves by the pause."""
        scenario = self.scenario
        gameday: GameDay = self._gameday
        clock = gameday.timeline_clock()
        end_s = scenario.end_of_faults()
        events = merge_events(gameday.events(), timeline.events(end_s))
        deadline = timeline.load_end_s(end_s)
        next_check = time.monotonic()
        while events or clock() < deadline:
            reason = gameday.tick()  # first: the journal has a confirmation before the faults it let through
            elapsed = clock()
            while not reason and events and events[0][0] <= elapsed and not gameday.holding():
                _, action = events.pop(0)
                action()
                self._phase(self._active(timeline))
            if not reason and time.monotonic() >= next_check:
                next_check = time.monotonic() + _STOP_CHECK_INTERVAL_S
                reason = self._stop_condition(load)
            if reason:
                self._view.note(f"[bold red]aborting: {reason}[/]")
                return reason
            time.sleep(0.05)
        return ""

    def _stop_condition(self, load: LoadMix) -> str:
        if not self.scenario.stop_conditions:
            return ""
        now = time.time()
        longest = max(condition.for_ for condition in self.scenario.stop_conditions)
        frame = load.probe_frame(since=now - longest - 1.0)  # a little older: whether probes reach back
        for condition in self.scenario.stop_conditions:
            if scoring.stop_condition_hit(frame, now, condition):
                return (
                    f"stop condition: availability below {condition.availability_below:.1%} "
                    f"for {condition.for_:g}s"
                )
        return ""

    def _active(self, timeline: Timeline) -> str:
        active = _active_faults(timeline)
        return "faults: " + (", ".join(active) if active else "none (observing recovery)")

    def _phase(self, text: str) -> None:
        self._view.phase(text)

    def _score(self, observation: Observation, timeline: Timeline, started: float) -> RunResult:
        windows = timeline.windows()
        losses = self._lost_acks(observation, windows)
        shares = [None] * len(windows) if losses is None else losses.faults
        following = scoring.next_faults(windows)
        scores = scoring.mutual_overlaps(
            [
                _with_checks(self._score_fault(observation, *fault), timeline)
                for fault in zip(windows, shares, following, strict=True)
            ]
        )
        unattributed = None if losses is None else scoring.unattributed_loss(losses, self.scenario.slos)
        verdict, reason = scoring.overall_verdict(scores, observation.steady_ok, observation.aborted, unattributed)
        if not observation.steady_ok and not observation.aborted:
            reason = observation.steady_reason
        result = RunResult(
            scenario=self.scenario.name,
            description=self.scenario.description,
            backend=self.backend,
            target=TargetFacts(**self.target.facts()),
            verdict=verdict,
            reason=reason,
            trial=self.trial,
            started_at=started,
            finished_at=time.time(),
            load_ended_at=observation.observation_end,
            steady_state_ok=observation.steady_ok,
            faults=scores,
            unattributed_loss=unattributed,
            requests=scoring.request_totals(observation.records),
            environment=run_environment(self.target, self.backend, self.scenario),
            notes=observation.notes,
            probes=observation.probes,
        )
        load_start = _load_start(observation.records, started)
        buckets = scoring.bucket_series(observation.records, load_start, observation.observation_end, 1.0)
        observation.records.to_parquet(self.out_dir / "requests.parquet")
        observation.signals.to_csv(self.out_dir / "server_states.csv", index=False)
        write_reports(result, buckets, self.out_dir, observation.signals)
        return result

    def _lost_acks(self, observation: Observation, windows: list[FaultWindow]) -> scoring.Losses | None:
        if observation.missing_writes is None:
            return None
        return scoring.attribute_lost_writes(
            observation.records,
            observation.missing_writes,
            windows,
            observation.observation_end,
            bucket_s=self.scenario.slos.bucket,
        )

    def _not_measured(self, observation: Observation, window: FaultWindow) -> dict[str, str]:
        unread = {"rpo": observation.store_unread, "lost_writes": observation.store_unread}
        return self.target.not_measured(window.target) | (unread if observation.store_unread else {})

    def _score_fault(
        self,
        observation: Observation,
        window: FaultWindow,
        losses: scoring.FaultLosses | None,
        next_window: FaultWindow | None,
    ) -> FaultScore:
        return scoring.score_fault(
            observation.records,
            window,
            self.scenario.slos,
            probe_rate=self.scenario.load.probe_rate,
            observation_end=observation.observation_end,
            signals=observation.signals,
            signal_server=self.target.signal_for(window.target),
            losses=losses,
            next_fault=next_window,
            not_measured=self._not_measured(observation, window),
            rollout_events=observation.rollout_events,
        )


def _with_checks(score: FaultScore, timeline: Timeline) -> FaultScore:
    """The fault's score with the verdicts only the fault itself could make (e.g. schema_drift's)."""
    checks = timeline.checks(score.fault.index)
    return score.model_copy(update={"slos": [*score.slos, *checks]}) if checks else score


def _active_faults(timeline: Timeline) -> list[str]:
    return [s.fault.describe() for s in timeline.faults if s.active]


def _load_start(records: pd.DataFrame, run_start: float) -> float:
    """The whole second after `run_start` in which the first request was sent: the chart starts there,
    not during stack start-up, when nothing was measured."""
    if records.empty:
        return run_start
    return run_start + max(0.0, float(np.floor(records["sent_at"].min() - run_start)))


@contextmanager
def _watching(watchers: list[StateWatch]) -> Iterator[None]:
    """Every watcher runs for the block's duration, and is stopped even when one fails to start."""
    started: list[StateWatch] = []
    try:
        for watcher in watchers:
            started.append(watcher.__enter__())
        yield
    finally:
        for watcher in started:
            watcher.stop()


def run_scenario(
    scenario: Scenario, target: Target, options: RunOptions, console: Console, trials: int | None = None
) -> list[SuiteRun]:
    """Every trial of one scenario against `target`, in order, each with the folder of its reports;
    `trials` (`--trials N`) overrides the scenario's own. Each trial is a whole run (stack up and down)."""
    if trials is not None:
        scenario = scenario.model_copy(update={"trials": trials})
    runs = [ScenarioRun(scenario, target, options, console, trial) for trial in range(1, scenario.trials + 1)]
    return [SuiteRun(run.execute(), run.out_dir) for run in runs]

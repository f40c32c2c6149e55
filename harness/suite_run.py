"""A suite: every scenario given, each over its trials, gated, recorded in the history, with its outputs.

`failover run` and `failover ci` differ only in what they print for each run
(`RunReporter`) and in their defaults; what runs and how it is judged is here.
The exit code comes from each scenario's gate (`harness/trials.py`): over its
trials, and against a baseline when one is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SLO_MISSED
from harness.gameday.live import GameDayOptions
from harness.stack import StackSettings

if TYPE_CHECKING:
    from harness.baseline import Baseline
    from harness.report.suite import SuiteRun
    from harness.result import RunResult
    from harness.scenario import Scenario
    from harness.targets import Target
    from harness.trials import ScenarioGate

RunReporter = Callable[["RunResult", Console], None]
"""What is printed when a run ends (a terminal summary, or CI log lines)."""


@dataclass(frozen=True)
class SuiteRequest:
    paths: list[Path]
    reports_dir: Path
    settings: StackSettings = field(default_factory=StackSettings)
    backend: str | None = None
    target: Path | None = None
    keep_up: bool = False
    trials: int | None = None
    baseline: str | None = None
    """A baseline file, or 'latest'."""
    tolerances: list[str] = field(default_factory=list)
    """METRIC=PERCENT overrides of the scenarios' `slos.regression`."""
    junit: Path | None = None
    summaries: list[Path] = field(default_factory=list)
    """Markdown job summaries to append to (`--summary-md`, `$GITHUB_STEP_SUMMARY`)."""
    gameday: GameDayOptions = field(default_factory=GameDayOptions)
    profile: str | None = None
    """`--profile`: overrides the scenarios' `stack.profile` (the reference stack's settings)."""


def summary_paths(given: Path | None, env: Mapping[str, str]) -> list[Path]:
    """`--summary-md` and `$GITHUB_STEP_SUMMARY`, each once."""
    found = [given, env.get("GITHUB_STEP_SUMMARY") or None]
    return [Path(path) for path in dict.fromkeys(str(p) for p in found if p)]


def run_suite(request: SuiteRequest, console: Console, report_run: RunReporter) -> int:
    """Validate everything, run every scenario's trials, gate them; the exit code (0, 1 or 2).
    Bad input (a scenario, the target, a missing baseline) is raised before anything starts."""
    from harness.baseline import load_baseline, parse_tolerances
    from harness.commands.scenarios import load_all
    from harness.runner import RunOptions, run_scenario

    if request.backend not in (None, "local", "compose"):
        from harness.errors import BadInput

        raise BadInput(f"unknown backend '{request.backend}'", "use --backend local or --backend compose")
    overrides = parse_tolerances(request.tolerances)
    baseline_path, against = load_baseline(request.baseline, request.reports_dir) if request.baseline else (None, None)
    scenarios = with_profiles(load_all(request.paths, request.settings, request.target, request.backend), request.profile)
    options = RunOptions(
        backend=request.backend,  # type: ignore[arg-type]
        settings=request.settings,
        reports_dir=request.reports_dir,
        keep_up=request.keep_up,
        gameday=request.gameday,
    )
    runs: list[SuiteRun] = []
    gates: list[tuple[ScenarioGate, str]] = []
    for _, scenario, scenario_target in scenarios:
        scenario_runs = run_scenario(scenario, scenario_target, options, console, request.trials)
        for run in scenario_runs:
            report_run(run.result, console)
        runs += scenario_runs
        gates.append((_gate(scenario, scenario_runs, against, overrides, console), scenario_runs[0].result.backend))
    _append_history(request.reports_dir, gates)
    _write_outputs(request, runs, [gate for gate, _ in gates], baseline_path, console)
    return suite_exit_code([gate.verdict for gate, _ in gates])


def with_profiles(
    scenarios: list[tuple[Path, Scenario, Target]], override: str | None
) -> list[tuple[Path, Scenario, Target]]:
    """Each scenario against its target in the profile it runs with: `override` (`--profile`), else its
    `stack.profile`, else tuned. A profile chooses settings of the reference stack only: asking for one on
    a user's stack is bad input, raised before anything starts."""
    from harness.errors import BadInput
    from harness.stack.profiles import DEFAULT_PROFILE, check_profile
    from harness.targets.reference import ReferenceTarget

    chosen: list[tuple[Path, Scenario, Target]] = []
    for path, scenario, target in scenarios:
        profile = check_profile(override or scenario.stack.profile or DEFAULT_PROFILE)
        if not isinstance(target, ReferenceTarget):
            if override or scenario.stack.profile:
                raise BadInput(
                    f"{path}: stack profile '{profile}' is a setting of the reference stack, not of {target.name}",
                    "drop stack.profile (or --profile): a profile of your own stack is your compose file",
                )
        elif target.settings.profile != profile:
            target = ReferenceTarget(replace(target.settings, profile=profile))
        chosen.append((path, scenario, target))
    return chosen


def suite_exit_code(verdicts: list[str]) -> int:
    """2 if any scenario hit an infrastructure error, else 1 if any missed an SLO (per run, over its
    trials, or against the baseline) or aborted, else 0 (verdicts: each scenario's gate)."""
    if "error" in verdicts:
        return EXIT_BAD_INPUT
    return EXIT_OK if all(verdict == "pass" for verdict in verdicts) else EXIT_SLO_MISSED


def _gate(
    scenario: Scenario, runs: list[SuiteRun], against: Baseline | None, overrides: dict[str, float], console: Console
) -> ScenarioGate:
    """The scenario's verdict over its trials (and against the baseline), printed one line per SLO when
    there is more than a single run's verdict to say."""
    from harness.baseline import compare
    from harness.trials import gate_lines, judge_scenario

    gate = judge_scenario(scenario.name, [run.result for run in runs], scenario.slos)
    if against is not None:
        gate = compare(gate, against, scenario.slos, overrides)
    if against is not None or len(runs) > 1 or scenario.slos.over_trials():
        for line in gate_lines(gate):
            console.print(line, highlight=False, soft_wrap=True, markup=False)
    return gate


def _append_history(reports_dir: Path, gates: list[tuple[ScenarioGate, str]]) -> None:
    from harness.history import HISTORY_FILE, append_history

    append_history(reports_dir / HISTORY_FILE, gates)


def _write_outputs(
    request: SuiteRequest, runs: list[SuiteRun], gates: list[ScenarioGate], baseline: Path | None, console: Console
) -> None:
    """JUnit and job summaries when asked; an index (HTML and JSON) when there was more than one run, or a
    baseline to compare with."""
    from harness.history import HISTORY_FILE
    from harness.report.junit import write_junit
    from harness.report.markdown import write_job_summary
    from harness.report.suite import write_suite_index

    if request.junit is not None:
        write_junit([run.result for run in runs], request.junit)
        console.print(f"JUnit: {request.junit}")
    for path in request.summaries:
        write_job_summary(runs, path, gates)
        console.print(f"job summary: {path}")
    if len(runs) > 1 or baseline:
        out = request.reports_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-suite"
        shown = None if baseline is None else str(baseline)
        index = write_suite_index(runs, out, gates, history=request.reports_dir / HISTORY_FILE, baseline=shown)
        console.print(f"suite index: {index['html']}")

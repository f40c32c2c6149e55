"""`summary.md` (one run) and the job summary of a whole suite, for `$GITHUB_STEP_SUMMARY`.

GitHub renders the summary as Markdown with HTML `<details>` allowed; it is appended to, so
several steps (or several `failover run`s) each add their part.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.environment import Environment, describe
from harness.report import formatting as fmt
from harness.report.suite import SuiteRun, worst_verdict
from harness.result import RunResult
from harness.trials import ScenarioGate, gate_lines

VERDICT_ICONS = {"pass": "✅", "fail": "❌", "aborted": "⚠️", "error": "⛔"}


def summary_markdown(result: RunResult) -> str:
    """The verdict, the reason, one row per SLO per fault, and the request totals."""
    lines = [f"### {VERDICT_ICONS[result.verdict]} {result.scenario}: {result.verdict.upper()}", ""]
    if result.reason:
        lines += [_cell(result.reason), ""]
    if result.faults:
        lines += [
            "| Fault | SLO | Target | Measured | Result |",
            "|---|---|---|---|---|",
            *_rows(result),
            "",
        ]
    notes = _notes(result)
    if notes:
        lines += [*notes, ""]
    totals = result.requests
    lines.append(
        f"{fmt.count(totals.total)} requests, {fmt.count(totals.failed)} failed · "
        f"steady state {'ok' if result.steady_state_ok else 'not met'} · backend `{result.backend}`"
        + (f" · target {fmt.target(result.target)}" if result.target else "")
    )
    if result.environment is not None:
        lines += ["", environment_line(result.environment)]
    return "\n".join(lines) + "\n"


def environment_line(env: Environment) -> str:
    """The environment in small print."""
    return f"<sub>{_cell(describe(env))}</sub>"


def job_summary_markdown(runs: Sequence[SuiteRun], gates: Sequence[ScenarioGate] = ()) -> str:
    """The whole suite: the overall verdict (the scenarios' gates' when given: over trials, against a
    baseline), the gates, one row per run, then each run's summary (those that passed folded away)."""
    results = [run.result for run in runs]
    verdict = worst_verdict([gate.verdict for gate in gates] or [result.verdict for result in results])
    counts = ", ".join(f"{n} {v}" for v in ("pass", "fail", "aborted", "error") if (n := _count(results, v)))
    lines = [
        f"## {VERDICT_ICONS[verdict]} failover-harness: {verdict.upper()}",
        "",
        f"{len(results)} run{'s' if len(results) != 1 else ''}: {counts}",
        "",
        "| Scenario | Trial | Verdict | Reason | Reports |",
        "|---|---|---|---|---|",
        *(_run_row(run) for run in runs),
        "",
        *_gate_section(gates),
    ]
    for run in runs:
        details = summary_markdown(run.result)
        if run.result.verdict == "pass":
            title = f"{run.result.scenario} (trial {run.result.trial}): pass"
            details = f"<details><summary>{title}</summary>\n\n{details}\n</details>\n"
        lines.append(details)
    return "\n".join(lines) + "\n"


def write_job_summary(runs: Sequence[SuiteRun], path: Path | str, gates: Sequence[ScenarioGate] = ()) -> Path:
    """Append the job summary of `runs` to `path` (e.g. `$GITHUB_STEP_SUMMARY`); returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as summary:
        summary.write(job_summary_markdown(runs, gates))
    return path


def _gate_section(gates: Sequence[ScenarioGate]) -> list[str]:
    """The gates that say more than one run's verdict (over trials, against a baseline), as the console
    prints them."""
    said = [gate for gate in gates if gate.gates or gate.notes]
    if not said:
        return []
    lines = [line for gate in said for line in gate_lines(gate)]
    return ["### Release gate", "", "```", *lines, "```", ""]


def _count(results: Sequence[RunResult], verdict: str) -> int:
    return sum(result.verdict == verdict for result in results)


def _run_row(run: SuiteRun) -> str:
    r = run.result
    return (
        f"| {r.scenario} | {r.trial} | {VERDICT_ICONS[r.verdict]} {r.verdict} | {_cell(r.reason) or '—'} "
        f"| `{_cell(str(run.run_dir))}` |"
    )


def _rows(result: RunResult) -> list[str]:
    return [
        f"| {_cell(fmt.fault_label(score.fault))}{' (overlapping)' if score.overlapping else ''} | {slo.name} "
        f"| {fmt.slo_target(slo)} | {_cell(fmt.slo_measured(slo))} | {'✅ pass' if slo.passed else '❌ fail'} |"
        for score in result.faults
        for slo in score.slos
    ]


def _notes(result: RunResult) -> list[str]:
    """Overlaps, later outages, what was not measured, run-level losses: one bullet each."""
    notes = [
        f"- **{_cell(fmt.fault_label(score.fault))}**: {_cell(note)}"
        for score in result.faults
        for note in fmt.notes(score)
    ]
    if result.unattributed_loss is not None:
        notes.append(f"- **run**: {fmt.unattributed(result.unattributed_loss)}")
    return notes


def _cell(text: str) -> str:
    """Text safe inside a table cell (and a paragraph): no pipes or line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")

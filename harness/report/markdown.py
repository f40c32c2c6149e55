"""`summary.md`: a few lines and one table for a CI job summary."""

from __future__ import annotations

from harness.report import formatting as fmt
from harness.result import RunResult

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
    return "\n".join(lines) + "\n"


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

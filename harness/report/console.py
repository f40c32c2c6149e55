"""The summary a person sees in the terminal when a run ends."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.report import formatting as fmt
from harness.result import FaultScore, RunResult

_IN_THE_TABLE = ("ttd", "rpo", "lost_writes")
"""Metrics whose "not measured (why)" the table's cells already show."""
VERDICT_STYLES = {"pass": "bold green", "fail": "bold red", "aborted": "bold yellow", "error": "bold white on red"}


def print_summary(result: RunResult, console: Console) -> None:
    """Print the verdict line, then a table of the faults and their SLOs."""
    console.print(_verdict_line(result))
    if result.faults:
        console.print(_faults_table(result))
    for line in _notes(result):
        console.print(line)
    console.print(_totals_line(result))


def _target(result: RunResult) -> str:
    return f"target {fmt.target(result.target)} · " if result.target else ""


def _verdict_line(result: RunResult) -> Text:
    verdict = (f" {result.verdict.upper()} ", VERDICT_STYLES[result.verdict])
    line = Text.assemble(verdict, " ", (result.scenario, "bold"))
    if result.reason:
        line.append(f"  {result.reason}")
    return line


def _totals_line(result: RunResult) -> Text:
    totals = result.requests
    return Text(
        f"{fmt.count(totals.total)} requests ({fmt.count(totals.probe)} probe, {fmt.count(totals.locust)} locust), "
        f"{fmt.count(totals.failed)} failed · {_lost_writes(result)}"
        f"steady state {'ok' if result.steady_state_ok else 'not met'}"
    )


def _lost_writes(result: RunResult) -> str:
    """The run's total. Faults injected within one bucket of each other share one reach and report
    the same lost writes (the same request ids): counted once."""
    shares = {tuple(s.lost_request_ids) or (s.fault.index,): s.lost_writes for s in result.faults}
    lost = [count for count in shares.values() if count is not None]
    if result.unattributed_loss is not None:
        lost.append(result.unattributed_loss.lost_writes)
    unmeasured = sum(score.lost_writes is None for score in result.faults)
    text = f"{fmt.count(sum(lost))} acknowledged writes lost · " if lost else ""
    if unmeasured:
        text += f"lost writes not measured for {unmeasured} of {len(result.faults)} faults · "
    return text


def _notes(result: RunResult) -> list[Text]:
    """Below the table: overlaps, later outages, what was not measured, run-level losses, probes behind schedule."""
    lines = [
        Text(f"  fault {number} {fmt.fault_label(score.fault)}: {note}", "yellow")
        for number, score in enumerate(result.faults, start=1)
        for note in fmt.notes(score, shown=_IN_THE_TABLE)
    ]
    if result.unattributed_loss is not None:
        lines.append(Text(f"  {fmt.unattributed(result.unattributed_loss)}", "bold red"))
    if result.probes is not None and result.probes.behind:
        lines.append(Text(f"  probes: {result.probes.behind}", "yellow"))
    elif result.probes is None and result.requests.probe:
        lines.append(Text(f"  probes: schedule {fmt.NOT_MEASURED_SCHEDULE}", "yellow"))
    return lines


def _faults_table(result: RunResult) -> Table:
    table = Table(title=f"{result.scenario} · {_target(result)}{result.backend} backend", title_justify="left")
    for header in ("Fault", "RTO [bracket]", "TTD", "Failed", "Lost writes", "SLO", "Target", "Measured", "Pass"):
        table.add_column(Text(header))
    for score in result.faults:
        _add_fault_rows(table, score)
    return table


def _add_fault_rows(table: Table, score: FaultScore) -> None:
    """One row per SLO; the fault's own figures only on its first row. Cells are Text: no markup."""
    label = Text(fmt.fault_label(score.fault))
    if score.overlapping:
        label.append(" (overlapping)", "yellow")
    fault_cells = [
        label,
        Text(fmt.rto(score)),
        Text(fmt.ttd(score)),
        Text(f"{fmt.count(score.failed_requests)} / {fmt.count(score.requests)}"),
        Text(fmt.lost_writes(score)),
    ]
    for row, slo in enumerate(score.slos):
        passed = Text("pass", "green") if slo.passed else Text("FAIL", "bold red")
        cells = fault_cells if row == 0 else [Text()] * len(fault_cells)
        slo_cells = [Text(slo.name), Text(fmt.slo_target(slo)), Text(fmt.slo_measured(slo)), passed]
        table.add_row(*cells, *slo_cells, end_section=row == len(score.slos) - 1)
    if not score.slos:
        table.add_row(*fault_cells, Text(fmt.MISSING), Text(), Text(), Text(), end_section=True)

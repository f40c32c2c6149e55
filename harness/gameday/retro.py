"""`failover retro RUN_DIR`: the retrospective of a game day, as Markdown and HTML, from the run's own records.

Read from `result.json` (what was measured, the SLO verdicts, the notes) and
`journal.jsonl` (the hypothesis, the runbook as it was walked). Findings are
pre-filled: every missed SLO, every fault no client felt (RTO 0, no failed
request: "absorbed" when the stack detected it, a surprise when nothing did),
and a recovery slower than in the previous run of the same scenario found
beside this one (`reports/`).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import BadInput
from harness.journal import read_entries
from harness.report import formatting as fmt
from harness.result import FaultScore, FaultWindow, RunResult

Row = list[str]


@dataclass
class Table:
    header: Row
    rows: list[Row]


Block = str | list[str] | Table
"""A paragraph, a bulleted list, or a table."""


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


def write_retro(run_dir: Path) -> list[Path]:
    """Write `retro.md` and `retro.html` into `run_dir`; returns their paths."""
    result = load_result(run_dir)
    journal = _journal(run_dir)
    title = f"Retrospective: {result.scenario} ({result.verdict})"
    sections = retro_sections(result, journal, previous_result(run_dir, result))
    markdown, page = run_dir / "retro.md", run_dir / "retro.html"
    markdown.write_text(to_markdown(title, sections), encoding="utf-8")
    page.write_text(to_html(title, sections), encoding="utf-8")
    return [markdown, page]


def load_result(run_dir: Path) -> RunResult:
    """`result.json` back as a `RunResult` (its fault windows and SLOs un-flattened)."""
    path = run_dir / "result.json"
    if not path.is_file():
        raise BadInput(f"{path} does not exist", "give the folder of a finished run: reports/<time>-<scenario>")
    document = json.loads(path.read_text(encoding="utf-8"))
    window_keys = set(FaultWindow.model_fields)
    faults = []
    for fault in document["faults"]:
        slos = [{**{k: v for k, v in slo.items() if k != "pass"}, "passed": slo["pass"]} for slo in fault["slos"]]
        score = {k: v for k, v in fault.items() if k not in window_keys and k != "slos"}
        faults.append({**score, "fault": {k: fault[k] for k in window_keys if k in fault}, "slos": slos})
    unattributed = document.get("unattributed_loss")
    if unattributed is not None:
        slo = unattributed["slo"]
        unattributed["slo"] = {**{k: v for k, v in slo.items() if k != "pass"}, "passed": slo["pass"]}
    return RunResult.model_validate({**document, "faults": faults})


def previous_result(run_dir: Path, result: RunResult) -> RunResult | None:
    """The newest earlier run of the same scenario beside `run_dir`, if any."""
    earlier = []
    for other in run_dir.resolve().parent.glob("*/result.json"):
        if other.parent == run_dir.resolve():
            continue
        try:
            candidate = load_result(other.parent)
        except (ValueError, KeyError, BadInput):
            continue
        if candidate.scenario == result.scenario and candidate.started_at < result.started_at:
            earlier.append(candidate)
    return max(earlier, key=lambda run: run.started_at, default=None)


def retro_sections(result: RunResult, journal: list[dict[str, Any]], previous: RunResult | None) -> list[Section]:
    start = result.started_at
    game_day = next((entry for entry in journal if entry["event"] == "game-day"), {})
    return [
        Section("Summary", [_summary(result)]),
        Section("Hypothesis", [game_day.get("hypothesis") or "None was written (`hypothesis:` in the scenario)."]),
        Section("What was injected, when", [_injected(result)]),
        Section("Runbook", _runbook(journal, start)),
        Section("What was observed", [_observed(result), _requests(result)]),
        Section("Notes", [_notes(result)]),
        Section("SLO verdicts", [_verdicts(result)]),
        Section("Findings", [findings(result, previous) or ["None: every SLO met, every fault had a visible effect."]]),
        Section("Action items", ["(to be filled in by the team)"]),
    ]


def findings(result: RunResult, previous: RunResult | None) -> list[str]:
    """Every missed SLO, every fault without effect, every recovery slower than the previous run's."""
    found = [f"The run was {result.verdict}: {result.reason}" for _ in [1] if result.verdict in ("aborted", "error")]
    for index, score in enumerate(result.faults, 1):
        label = f"Fault {index} ({fmt.fault_label(score.fault)})"
        found += [f"{label}: {fmt.slo_miss(slo)}" for slo in score.slos if not slo.passed]
        if score.rto_s == 0 and score.failed_requests == 0:
            found.append(f"{label}: {_no_effect(score)}")
        slower = _slower_than_before(score, previous)
        if slower:
            found.append(f"{label}: surprise: {slower}")
    return found


def _no_effect(score: FaultScore) -> str:
    """Never detected and never felt is a surprise (did the fault reach the stack?); detected but never
    felt is a failover that worked, worth saying as such."""
    if score.ttd_s is None:
        return "surprise: no effect seen (RTO 0, no failed request, never detected): did it reach the stack?"
    return (
        f"absorbed: the stack detected it after {fmt.seconds(score.ttd_s)} and no client saw it "
        "(RTO 0, no failed request)"
    )


def _slower_than_before(score: FaultScore, previous: RunResult | None) -> str:
    if previous is None or score.rto_s is None:
        return ""
    same = [old for old in previous.faults if (old.fault.type, old.fault.target) == (score.fault.type, score.fault.target)]
    if not same or same[0].rto_s is None or score.rto_s <= same[0].rto_s:
        return ""
    when = fmt.timestamp(previous.started_at)
    return f"recovered in {fmt.seconds(score.rto_s)}, slower than the previous run ({fmt.seconds(same[0].rto_s)} on {when})"


def _summary(result: RunResult) -> str:
    span = fmt.span(result.started_at, result.finished_at)
    reason = f" {result.reason}." if result.reason else ""
    return f"Verdict **{result.verdict}** on the {result.backend} backend, {span}.{reason}"


def _injected(result: RunResult) -> Block:
    if not result.faults:
        return "No fault was injected."
    rows = []
    for index, score in enumerate(result.faults, 1):
        fault = score.fault
        settings = ", ".join(f"{name} {value}" for name, value in fault.parameters.items() if value is not None)
        reverted = "never" if fault.reverted_at is None else fmt.offset(fault.reverted_at, result.started_at)
        rows.append([str(index), fault.type, fault.target, settings or "–", fmt.offset(fault.injected_at, result.started_at), reverted])
    return Table(["#", "fault", "target", "settings", "injected", "reverted"], rows)


def _runbook(journal: list[dict[str, Any]], start: float) -> list[Block]:
    lines = []
    for entry in journal:
        when = fmt.offset(entry["t"], start)
        if entry["event"] == "runbook-step" and (entry.get("text") or entry.get("expect")):
            expect = "; ".join(entry.get("expect") or [])
            lines.append(f"{when}: {entry.get('text') or 'gate'}" + (f" (expected: {expect})" if expect else ""))
        elif entry["event"] == "gate-closed":
            lines.append(f"{when}: {_gate_closed(entry)}")
        elif entry["event"] in ("timeline-paused", "timeline-resumed", "abort-requested"):
            lines.append(f"{when}: {entry['event'].replace('-', ' ')} by {entry['author']}")
    return [lines] if lines else ["The scenario had no runbook."]


def _gate_closed(entry: dict[str, Any]) -> str:
    waited = fmt.seconds(entry["waited_s"])
    if entry["outcome"] == "confirmed":
        return f"gate confirmed by {entry['author']} after {waited}"
    went_on = "went on" if "continuing" in entry["outcome"] else "the run was aborted"
    return f"gate not confirmed within {waited}: {went_on}"


def _observed(result: RunResult) -> Block:
    rows = [
        [
            str(index),
            fmt.rto(score),
            fmt.ttd(score),
            f"{fmt.count(score.failed_requests)} of {fmt.count(score.requests)}",
            fmt.fraction(score.availability),
            fmt.seconds(score.latency_p95_s),
            fmt.lost_writes(score),
        ]
        for index, score in enumerate(result.faults, 1)
    ]
    return Table(["#", "RTO", "TTD", "failed requests", "availability", "p95", "lost writes"], rows)


def _requests(result: RunResult) -> str:
    totals = result.requests
    return f"Requests: {fmt.count(totals.total)} sent, {fmt.count(totals.failed)} failed ({fmt.count(totals.probe)} probes, {fmt.count(totals.locust)} Locust)."


def _notes(result: RunResult) -> Block:
    if not result.notes:
        return "No notes were taken (`failover note \"...\"` during a run)."
    return Table(["when", "who", "note"], [[fmt.offset(n.t, result.started_at), n.author, n.text] for n in result.notes])


def _verdicts(result: RunResult) -> Block:
    rows = [
        [str(index), slo.name, fmt.slo_target(slo), fmt.slo_outcome(slo), "met" if slo.passed else "MISSED"]
        for index, score in enumerate(result.faults, 1)
        for slo in score.slos
    ]
    return Table(["#", "SLO", "target", "outcome", "verdict"], rows) if rows else "No SLO was judged."


def _journal(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "journal.jsonl"
    return list(read_entries(path)) if path.is_file() else []


# --- rendering ------------------------------------------------------------------------------------


def to_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += [*_markdown_block(block), ""]
    return "\n".join(lines)


def _markdown_block(block: Block) -> list[str]:
    if isinstance(block, str):
        return [block]
    if isinstance(block, list):
        return [f"- {item}" for item in block]
    cells = [block.header, ["---"] * len(block.header), *block.rows]
    return ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in cells]


def to_html(title: str, sections: list[Section]) -> str:
    body = "".join(
        f"<section><h2>{html.escape(section.title)}</h2>{''.join(_html_block(b) for b in section.blocks)}</section>"
        for section in sections
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<main><h1>{html.escape(title)}</h1>{body}</main></html>\n"
    )


def _html_block(block: Block) -> str:
    if isinstance(block, str):
        return f"<p>{_inline(block)}</p>"
    if isinstance(block, list):
        return "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block) + "</ul>"
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block.header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in block.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _inline(text: str) -> str:
    """Escaped, with Markdown's **bold** and `code` kept."""
    escaped = html.escape(text)
    for marker, tag in (("**", "strong"), ("`", "code")):
        parts = escaped.split(marker)
        escaped = "".join(f"<{tag}>{part}</{tag}>" if i % 2 else part for i, part in enumerate(parts)) if len(parts) % 2 else escaped
    return escaped


_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;color:#1d2330;background:#fff}main{max-width:980px;margin:32px auto;padding:0 20px}"
    "h1{font-size:26px}h2{font-size:18px;border-bottom:1px solid #dde;padding-bottom:4px;margin-top:28px}"
    "table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e4e6eb}"
    "th{font-size:12px;text-transform:uppercase;color:#667}code{background:#f1f2f5;padding:0 3px;border-radius:3px}"
)

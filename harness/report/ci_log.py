"""What a run says in a CI log: one grep-able line per SLO per fault, and GitHub annotations.

A CI log is not a terminal: no live panel, no table cut to 80 columns. Each SLO gets one line
that reads on its own (`grep FAIL` shows every miss with its scenario, fault, target and
measured value); on GitHub Actions every miss also becomes an `::error` annotation, which the
pull request shows next to the job.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.report import formatting as fmt
from harness.result import FaultScore, RunResult, SLOResult


def slo_lines(result: RunResult) -> list[str]:
    """'PASS replica-kill #1 kill model-a: rto ≤ 2.00 s, measured 0.45 s'; a run with no score (an
    error, an abort before the faults) gets one line with its verdict and reason."""
    lines = [_line(result, score, slo) for score in result.faults for slo in score.slos]
    if result.unattributed_loss is not None:
        loss = result.unattributed_loss
        lines.append(f"{_word(loss.slo.passed)} {result.scenario} (no fault): {fmt.unattributed(loss)}")
    if result.verdict in ("error", "aborted") or not lines:
        lines.append(f"{result.verdict.upper()} {result.scenario}: {result.reason or 'no SLO was scored'}")
    return lines


def github_annotations(result: RunResult) -> list[str]:
    """`::error` workflow commands for every missed SLO and for a run that errored or aborted."""
    annotations = [
        _annotation(f"{result.scenario}: {fmt.fault_label(score.fault)} {slo.name}", fmt.slo_miss(slo))
        for score in result.faults
        for slo in score.slos
        if not slo.passed
    ]
    if result.verdict in ("error", "aborted"):
        annotations.append(_annotation(f"{result.scenario}: {result.verdict}", result.reason))
    return annotations


def on_github_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def _line(result: RunResult, score: FaultScore, slo: SLOResult) -> str:
    where = f"{result.scenario} #{score.fault.index + 1} {fmt.fault_label(score.fault)}"
    return f"{_word(slo.passed)} {where}: {slo.name} {fmt.slo_target(slo)}, {fmt.slo_outcome(slo)}"


def _word(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _annotation(title: str, message: str) -> str:
    """GitHub's workflow-command escaping: '%', CR and LF in the message; also ':' and ',' in properties."""
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    title = title.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")
    return f"::error title={title}::{escaped}"

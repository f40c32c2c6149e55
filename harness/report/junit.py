"""JUnit XML for CI: one <testsuite> per run, one <testcase> per SLO per fault.

Every suite also has a `steady-state` case; an aborted or errored run gets a
`run` case carrying the failure or error, so CI shows why nothing was scored.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness.report import formatting as fmt
from harness.result import FaultScore, RunResult, SLOResult


def write_junit(results: Sequence[RunResult], path: Path | str) -> Path:
    """Write the JUnit XML for `results` to `path` and return it."""
    root = ET.Element("testsuites", name="failover-harness")
    for result in results:
        root.append(_suite(result))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in root)))
    root.set("time", f"{sum(float(suite.get('time', '0')) for suite in root):.3f}")
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _suite(result: RunResult) -> ET.Element:
    cases = [_steady_state_case(result)]
    cases += [_slo_case(result.scenario, score, slo) for score in result.faults for slo in score.slos]
    if result.unattributed_loss is not None:
        cases.append(_unattributed_case(result))
    if result.verdict in ("aborted", "error"):
        cases.append(_run_case(result))
    suite = ET.Element(
        "testsuite",
        name=result.scenario,
        tests=str(len(cases)),
        failures=str(sum(case.find("failure") is not None for case in cases)),
        errors=str(sum(case.find("error") is not None for case in cases)),
        skipped=str(sum(case.find("skipped") is not None for case in cases)),
        time=f"{result.finished_at - result.started_at:.3f}",
        timestamp=datetime.fromtimestamp(result.started_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    suite.append(_properties(result))
    suite.extend(cases)
    return suite


def _properties(result: RunResult) -> ET.Element:
    properties = ET.Element("properties")
    values = {"backend": result.backend, "trial": result.trial, "verdict": result.verdict, "reason": result.reason}
    if result.target is not None:
        values |= {"target": result.target.name, "target_compose_sha256": result.target.compose_sha256 or ""}
    for score in result.faults:
        label = fmt.fault_label(score.fault)
        values |= {f"{label}: {metric}": fmt.not_measured(why) for metric, why in score.not_measured.items()}
        values |= {f"{label}: overlapping with {o.fault}": o.reason for o in score.overlapping}
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=str(value))
    return properties


def _case(scenario: str, name: str) -> ET.Element:
    return ET.Element("testcase", name=name, classname=scenario)


def _steady_state_case(result: RunResult) -> ET.Element:
    case = _case(result.scenario, "steady-state")
    if result.steady_state_ok:
        return case
    if result.verdict == "error":
        ET.SubElement(case, "skipped", message="the run errored before the steady state was confirmed")
    else:
        message = "steady state not met: the SLOs did not hold without faults"
        ET.SubElement(case, "failure", message=message, type="steady-state")
    return case


def _slo_case(scenario: str, score: FaultScore, slo: SLOResult) -> ET.Element:
    """'replica-kill: kill model-a: rto', failing with target vs measured when missed."""
    case = _case(scenario, f"{scenario}: {fmt.fault_label(score.fault)}: {slo.name}")
    if not slo.passed:
        failure = ET.SubElement(case, "failure", message=fmt.slo_miss(slo), type="slo-missed")
        failure.text = (
            f"{fmt.slo_miss(slo)}\n"
            f"fault: {fmt.fault_label(score.fault)}\n"
            f"RTO {fmt.rto(score)} (resolution {fmt.seconds(score.rto_resolution_s)}), "
            f"TTD {fmt.ttd(score)}, "
            f"{fmt.count(score.failed_requests)} of {fmt.count(score.requests)} requests failed, "
            f"lost writes {fmt.lost_writes(score)}"
        )
        failure.text += "".join(f"\n{note}" for note in fmt.notes(score))
    return case


def _unattributed_case(result: RunResult) -> ET.Element:
    """'replica-kill: run: lost_writes': acknowledged writes lost outside every fault's reach."""
    case = _case(result.scenario, f"{result.scenario}: run: lost_writes")
    loss = result.unattributed_loss
    if loss is not None and not loss.slo.passed:
        message = fmt.unattributed_miss(loss)
        failure = ET.SubElement(case, "failure", message=message, type="slo-missed")
        failure.text = f"{message}\nlost request ids: {', '.join(loss.request_ids)}"
    return case


def _run_case(result: RunResult) -> ET.Element:
    case = _case(result.scenario, "run")
    reason = result.reason or "no reason recorded"
    if result.verdict == "error":
        ET.SubElement(case, "error", message=reason, type="error").text = reason
    else:
        ET.SubElement(case, "failure", message=f"aborted: {reason}", type="aborted").text = f"aborted: {reason}"
    return case

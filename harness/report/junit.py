"""JUnit XML for CI: one <testsuite> per run, one <testcase> per SLO per fault.

The layout (docs/machine-outputs.md):
- a case's name is stable from run to run ('replica-kill: kill model-a: rto'), so CI keeps its history;
  its target and measured value are in its <properties> (`target`, `measured`, `unit`, `pass`), in
  <system-out> when it passed and in the <failure> message when it did not;
- a missed SLO is a <failure type="slo-missed">; an SLO that could not be measured is a
  <failure type="slo-not-measured"> (never a pass, and never <skipped>, which dashboards show as
  harmless while the gate fails);
- an errored or aborted run gets a `run` case with an <error> (type 'error' or 'aborted'): CI shows it
  as broken, not as a missed SLO;
- every suite has a `steady-state` case, skipped when the run errored before it was checked;
- the suite's <properties> carry the run (backend, trial, verdict, reason), the target and the
  environment; several trials of one scenario get suites named 'replica-kill [trial 2]'.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness.report import formatting as fmt
from harness.result import FaultScore, RunResult, SLOResult


def write_junit(results: Sequence[RunResult], path: Path | str) -> Path:
    """Write the JUnit XML for `results` (any number of runs) to `path` and return it."""
    root = ET.Element("testsuites", name="failover-harness")
    repeated = {name for name, n in Counter(result.scenario for result in results).items() if n > 1}
    for result in results:
        root.append(_suite(result, suite_name(result, result.scenario in repeated)))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in root)))
    root.set("time", f"{sum(float(suite.get('time', '0')) for suite in root):.3f}")
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def suite_name(result: RunResult, repeated: bool) -> str:
    """The scenario; 'replica-kill [trial 2]' when the file holds more than one run of it."""
    return f"{result.scenario} [trial {result.trial}]" if repeated else result.scenario


def _suite(result: RunResult, name: str) -> ET.Element:
    cases = [_steady_state_case(result, name)]
    cases += [_slo_case(result.scenario, name, score, slo) for score in result.faults for slo in score.slos]
    if result.unattributed_loss is not None:
        cases.append(_unattributed_case(result, name))
    if result.verdict in ("aborted", "error"):
        cases.append(_run_case(result, name))
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(case.find("failure") is not None for case in cases)),
        errors=str(sum(case.find("error") is not None for case in cases)),
        skipped=str(sum(case.find("skipped") is not None for case in cases)),
        time=f"{result.finished_at - result.started_at:.3f}",
        timestamp=datetime.fromtimestamp(result.started_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    if result.environment is not None:
        suite.set("hostname", result.environment.machine.hostname)
    suite.append(_properties(_suite_properties(result)))
    suite.extend(cases)
    return suite


def _suite_properties(result: RunResult) -> dict[str, object]:
    values: dict[str, object] = {
        "backend": result.backend,
        "trial": result.trial,
        "verdict": result.verdict,
        "reason": result.reason,
    }
    if result.target is not None:
        values |= {"target": result.target.name, "target_compose_sha256": result.target.compose_sha256 or ""}
    if result.environment is not None:
        env = result.environment
        values |= {
            "harness_version": env.harness_version,
            "stack_git_commit": "" if env.stack_git is None else env.stack_git.commit,
            "stack_git_dirty": "" if env.stack_git is None else str(env.stack_git.dirty).lower(),
            "stack_config_sha256": env.stack_config_sha256,
            "seed": "" if env.seed is None else env.seed,
            "python": env.machine.python,
            "docker": env.machine.docker or "",
        }
    for score in result.faults:
        label = fmt.fault_label(score.fault)
        values |= {f"{label}: {metric}": fmt.not_measured(why) for metric, why in score.not_measured.items()}
        values |= {f"{label}: overlapping with {o.fault}": o.reason for o in score.overlapping}
    return values


def _properties(values: dict[str, object]) -> ET.Element:
    properties = ET.Element("properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=str(value))
    return properties


def _case(classname: str, name: str) -> ET.Element:
    return ET.Element("testcase", name=name, classname=classname)


def _steady_state_case(result: RunResult, classname: str) -> ET.Element:
    case = _case(classname, "steady-state")
    if result.steady_state_ok:
        return case
    if result.verdict == "error":
        ET.SubElement(case, "skipped", message="the run errored before the steady state was confirmed")
    else:
        message = "steady state not met: the SLOs did not hold without faults"
        ET.SubElement(case, "failure", message=message, type="steady-state")
    return case


def _slo_case(scenario: str, classname: str, score: FaultScore, slo: SLOResult) -> ET.Element:
    """'replica-kill: kill model-a: rto': target and measured in its properties, and in its output
    (passed) or failure message (missed, not measured)."""
    case = _case(classname, f"{scenario}: {fmt.fault_label(score.fault)}: {slo.name}")
    case.append(_properties(_slo_properties(score, slo)))
    if slo.passed:
        ET.SubElement(case, "system-out").text = f"{slo.name}: target {fmt.slo_target(slo)}, {fmt.slo_outcome(slo)}"
        return case
    kind = "slo-not-measured" if slo.not_measured is not None else "slo-missed"
    failure = ET.SubElement(case, "failure", message=fmt.slo_miss(slo), type=kind)
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


def _slo_properties(score: FaultScore, slo: SLOResult) -> dict[str, object]:
    """Machine-readable figures: `measured` is '' when there is none (see `not_measured`)."""
    values: dict[str, object] = {
        "fault_index": score.fault.index,
        "fault": fmt.fault_label(score.fault),
        "slo": slo.name,
        "target": slo.target,
        "measured": "" if slo.measured is None else slo.measured,
        "unit": slo.unit,
        "pass": str(slo.passed).lower(),
    }
    if slo.not_measured is not None:
        values["not_measured"] = slo.not_measured
    return values


def _unattributed_case(result: RunResult, classname: str) -> ET.Element:
    """'replica-kill: run: lost_writes': acknowledged writes lost outside every fault's reach."""
    case = _case(classname, f"{result.scenario}: run: lost_writes")
    loss = result.unattributed_loss
    if loss is not None and not loss.slo.passed:
        message = fmt.unattributed_miss(loss)
        failure = ET.SubElement(case, "failure", message=message, type="slo-missed")
        failure.text = f"{message}\nlost request ids: {', '.join(loss.request_ids)}"
    return case


def _run_case(result: RunResult, classname: str) -> ET.Element:
    """An errored or aborted run is an <error>: the gate could not judge, whatever was scored."""
    case = _case(classname, "run")
    reason = result.reason or "no reason recorded"
    message = reason if result.verdict == "error" else f"aborted: {reason}"
    ET.SubElement(case, "error", message=message, type=result.verdict).text = message
    return case

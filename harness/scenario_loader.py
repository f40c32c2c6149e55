"""Scenario files: YAML to a validated `Scenario`, every problem as `FILE:LINE: FIELD.PATH: what`.

Reading and model validation are `yaml_model`'s; this module adds what the
model cannot check alone: targets that exist in the stack, faults that do
not overlap, a run that fits in a day, and a payload file that loads.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from harness.errors import BadInput
from harness.faults import FaultParams as Fault
from harness.faults import acting_on, fault_type, normalize_hop, parse_fault
from harness.faults.base import ActsOn
from harness.load.payloads import load_payloads
from harness.monkey import schedule
from harness.scenario import OverTrials, Scenario
from harness.units import MAX_RUN_S, RUN_LIMIT_WHY, format_duration
from harness.yaml_model import (
    FileProblems,
    Loc,
    Problem,
    YamlDocument,
    did_you_mean,
    dotted,
    read_yaml,
    validate_model,
)

__all__ = [
    "Problem",
    "ScenarioError",
    "discover",
    "fault_target_problem",
    "load_scenario",
    "normalize_hop",
    "summarize",
]

ENTRY = "entry"
"""The one target of faults that act on the entry point (the harness as a client)."""
ScenarioError = FileProblems
"""Everything wrong with one scenario file (the name callers used before `yaml_model`)."""

_FORMAT_TIP = "the file format is described in scenarios/README.md"


def load_scenario(
    path: Path,
    services: set[str] | None = None,
    hops: set[str] | None = None,
    models: set[str] | None = None,
    backend: str | None = None,
    zones: set[str] | None = None,
) -> Scenario:
    """Load and check one file; `services`/`hops`/`models`/`zones`/`backend` None skips that check.

    A relative `load.payloads` is made absolute against the file's folder.
    """
    document = read_yaml(path)
    scenario = _with_monkey_schedule(validate_model(path, document, Scenario, format_tip=_FORMAT_TIP))
    scenario = _with_payloads_from(path.absolute().parent, scenario)
    problems = _target_problems(scenario, document, {"service": services, "hop": hops, "model": models, "zone": zones})
    problems += _overlap_problems(scenario, document) + _after_load_problems(scenario, document)
    problems += _run_length_problems(scenario, document) + _payload_problems(scenario, document)
    problems += _backend_problems(scenario, document, backend)
    if problems:
        raise ScenarioError(path, problems)
    return scenario


def discover(paths: list[Path]) -> list[Path]:
    """Files as given, folders searched recursively for *.yaml/*.yml (sorted); duplicates dropped."""
    missing = [path for path in paths if not path.exists()]
    if missing:
        names = ", ".join(str(path) for path in missing)
        raise BadInput(f"no such file or folder: {names}", _missing_path_tip(missing[0]))
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if _is_scenario_file(p))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _is_scenario_file(path: Path) -> bool:
    """A YAML file in a scenario folder, except target files (`*.target.yaml`), which may sit beside them."""
    return path.suffix in (".yaml", ".yml") and path.is_file() and not path.stem.endswith(".target")


def summarize(scenario: Scenario) -> str:
    """One line for `failover list`: name, faults, SLOs."""
    faults = ", ".join(_describe_fault(fault) for fault in scenario.timeline)
    return f"{scenario.name}  {faults}; {_describe_slos(scenario)}"


def _with_monkey_schedule(scenario: Scenario) -> Scenario:
    """A monkey's picks become the timeline, checked like a written one from here on."""
    if scenario.monkey is None:
        return scenario
    return scenario.model_copy(update={"timeline": [parse_fault(entry) for entry in schedule(scenario.monkey)]})


def _with_payloads_from(folder: Path, scenario: Scenario) -> Scenario:
    if scenario.load.payloads is None or scenario.load.payloads.is_absolute():
        return scenario
    load = scenario.load.model_copy(update={"payloads": folder / scenario.load.payloads})
    return scenario.model_copy(update={"load": load})


# --- checks the model cannot make ---------------------------------------------------


def _target_problems(
    scenario: Scenario, document: YamlDocument, given: dict[ActsOn, set[str] | None]
) -> list[Problem]:
    """Each fault's target must be one the target file lets that kind of fault touch."""
    problems = []
    for index, fault in enumerate(scenario.timeline):
        problem = fault_target_problem(fault, given)
        if problem is not None:
            loc: Loc = ("timeline", index, "target")
            problems.append(Problem(document.line(loc), dotted(loc), *problem))
    return problems


def fault_target_problem(fault: Fault, given: dict[ActsOn, set[str] | None]) -> tuple[str, str] | None:
    """(what is wrong, the fix) when the fault's target is not one the target lets its kind touch;
    `given`: the services, hops and models the target opted in (None: not checked)."""
    known: dict[ActsOn, set[str] | None] = {**given, "entry": {ENTRY}}
    kind, name = _target_key(fault)
    allowed = known.get(kind)
    if allowed is None or name in allowed:
        return None
    tip = _target_suggestion(fault, kind, allowed) + _known_targets(kind, allowed)
    return _unknown_target_message(fault, kind, known), tip


def _unknown_target_message(fault: Fault, kind: ActsOn, known: dict[ActsOn, set[str] | None]) -> str:
    message = f"'{fault.target}' is not a {kind} the target lets faults touch ({_acting_on(kind)} act on {kind}s)"
    for other, names in known.items():
        written = normalize_hop(fault.target) if other == "hop" else fault.target
        if other != kind and names and written in names:
            return f"{message}; it is a {other}, for {_acting_on(other)}"
    return message


def _target_suggestion(fault: Fault, kind: ActsOn, known: set[str]) -> str:
    """A service given to a hop action most likely means the hop into it (model-a -> gateway-model-a)."""
    into = sorted(hop for hop in known if hop.endswith(f"-{fault.target}"))
    if kind == "hop" and into:
        return f"did you mean '{into[0]}'? "
    return did_you_mean(_target_key(fault)[1], sorted(known))


def _known_targets(kind: ActsOn, known: set[str]) -> str:
    names = ", ".join(sorted(known)) or "(none)"
    if kind == "hop":
        return f"hops (Toxiproxy proxies, also written from->to): {names}"
    return f"{kind}s: {names}" if kind != "entry" else f"the target of {_acting_on(kind)} is always '{ENTRY}'"


def _overlap_problems(scenario: Scenario, document: YamlDocument) -> list[Problem]:
    """One fault per target at a time: a second one would be undone by the first's revert."""
    problems = []
    faults = list(enumerate(scenario.timeline))
    for (first, a), (second, b) in itertools.combinations(sorted(faults, key=lambda pair: pair[1].at), 2):
        if (*_target_key(a), a.scope()) == (*_target_key(b), b.scope()) and b.at < _end(a):
            loc: Loc = ("timeline", second, "at")
            where = f"timeline[{first}] (line {document.line(('timeline', first))})"
            held = f"'{a.target}'" + (f" ({a.scope()})" if a.scope() else "")
            message = f"overlaps {where} on {held}, which lasts {_span(a)}"
            tip = _overlap_tip(first, a)
            problems.append(Problem(document.line(loc), dotted(loc), message, tip))
    return problems


def _overlap_tip(first: int, fault: Fault) -> str:
    if fault.duration is None:
        return f"a target takes one fault at a time: give timeline[{first}] a duration (without one it lasts to the end)"
    return f"a target takes one fault at a time: start this one at {format_duration(_end(fault))} or later"


def _backend_problems(scenario: Scenario, document: YamlDocument, backend: str | None) -> list[Problem]:
    """A fault the run's backend cannot do is refused now, not when its time comes."""
    problems = []
    for index, fault in enumerate(scenario.timeline):
        able = fault_type(fault.action).backends
        if backend is not None and backend not in able:
            loc: Loc = ("timeline", index, "action")
            message = f"{fault.action} needs the {' or '.join(sorted(able))} backend; this run uses {backend}"
            tip = f"run with --backend {sorted(able)[0]}, or use a fault the {backend} backend has (failover fault-types)"
            problems.append(Problem(document.line(loc), dotted(loc), message, tip))
    return problems


def _after_load_problems(scenario: Scenario, document: YamlDocument) -> list[Problem]:
    load_end = scenario.load.duration
    if load_end is None:
        return []
    problems = []
    for index, fault in enumerate(scenario.timeline):
        if fault.at >= load_end:
            loc: Loc = ("timeline", index, "at")
            message = (
                f"{format_duration(fault.at)} is not before the load ends (load.duration: {format_duration(load_end)})"
            )
            tip = (
                f"start faults before {format_duration(load_end)}, or lengthen load.duration "
                "(or leave it out: load then runs until the last revert plus observe_after)"
            )
            problems.append(Problem(document.line(loc), dotted(loc), message, tip))
    return problems


def _run_length_problems(scenario: Scenario, document: YamlDocument) -> list[Problem]:
    """Each duration is at most a day (the model says so); together they must be too."""
    faults_end = max(_end_or_start(fault) for fault in scenario.timeline) + scenario.observe_after
    load_time = max(scenario.load.duration or 0.0, faults_end)
    total = scenario.steady_state.warmup + scenario.steady_state.check + load_time
    if total <= MAX_RUN_S:
        return []
    loc = _longest_part(scenario, faults_end)
    message = (
        f"the run would last {total / 3600:.1f}h (warm-up, check, faults and observe_after), "
        f"more than {format_duration(MAX_RUN_S)}: {RUN_LIMIT_WHY}"
    )
    return [Problem(document.line(loc), dotted(loc), message, "shorten the run to minutes")]


def _longest_part(scenario: Scenario, faults_end: float) -> Loc:
    """Where the run gets long: load.duration, or the fault that ends last."""
    if scenario.load.duration is not None and scenario.load.duration >= faults_end:
        return ("load", "duration")
    index, fault = max(enumerate(scenario.timeline), key=lambda pair: _end_or_start(pair[1]))
    return ("timeline", index, "at" if fault.duration is None else "duration")


def _payload_problems(scenario: Scenario, document: YamlDocument) -> list[Problem]:
    """The payload file must load now, not at the end of a run (the target's own is checked with the target)."""
    if scenario.load.payloads is None:
        return []
    try:
        load_payloads(scenario.load.payloads)
    except BadInput as error:
        loc: Loc = ("load", "payloads")
        tip = error.tip or "a relative path starts from the scenario file's folder"
        return [Problem(document.line(loc), dotted(loc), error.message, tip)]
    return []


def _end_or_start(fault: Fault) -> float:
    return fault.at + (fault.duration or 0.0)


def _target_key(fault: Fault) -> tuple[ActsOn, str]:
    """What the fault acts on, and its target as the target file names it (hops as proxy names)."""
    kind = fault_type(fault.action).acts_on
    return kind, normalize_hop(fault.target) if kind == "hop" else fault.target


def _end(fault: Fault) -> float:
    return math.inf if fault.duration is None else fault.at + fault.duration


def _span(fault: Fault) -> str:
    end = "the end" if fault.duration is None else format_duration(_end(fault))
    return f"{format_duration(fault.at)} to {end}"


# --- wording ----------------------------------------------------------------------


def _describe_fault(fault: Fault) -> str:
    given = fault.shown_parameters()
    until = f" for {format_duration(fault.duration)}" if fault.duration is not None else " until the end"
    return f"{fault.action} {fault.target}{f' ({given})' if given else ''} at {format_duration(fault.at)}{until}"


def _describe_slos(scenario: Scenario) -> str:
    slos = scenario.slos
    bounds = [
        ("rto", "<=", slos.rto, format_duration),
        ("ttd", "<=", slos.ttd, format_duration),
        ("rpo", "<=", slos.rpo, format_duration),
        ("availability", ">=", slos.availability, _percent),
        ("p50", "<=", slos.latency.p50, format_duration),
        ("p95", "<=", slos.latency.p95, format_duration),
        ("p99", "<=", slos.latency.p99, format_duration),
        ("lost_writes", "<=", slos.lost_writes, str),
        ("accuracy", ">=", slos.accuracy, _percent),
        ("quality_rto", "<=", slos.quality_rto, format_duration),
        ("bad_predictions", "<=", slos.bad_predictions, str),
        ("degraded_share", "<=", slos.degraded_share, _percent),
        ("rollback", "<=", slos.rollback, format_duration),
    ]
    shown = [f"{name}{op}{_target(value, fmt)}" for name, op, value, fmt in bounds if value is not None]
    return f"SLO {' '.join(shown)}" if shown else "no SLOs"


def _target(value: Any, show: Callable[[Any], str]) -> str:
    """A single target ('2s'), or targets over trials ('{p95: 2s}')."""
    return value.describe(show) if isinstance(value, OverTrials) else show(value)


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def _acting_on(kind: ActsOn) -> str:
    """'kill, stop and pause' for 'service'."""
    names = acting_on(kind)
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _missing_path_tip(path: Path) -> str:
    siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
    close = get_close_matches(path.name, siblings, n=1)
    hint = f"did you mean '{path.parent / close[0]}'? " if close else ""
    return f"{hint}pass scenario files (.yaml) or folders of them, e.g. scenarios/"

"""Scenario files: YAML to a validated `Scenario`, every problem as `FILE:LINE: FIELD.PATH: what`.

PyYAML's composed node tree keeps line numbers that `yaml.safe_load` throws
away; the data is built from that tree while recording each node's line by
its path, and pydantic's error `loc` (the same path) is mapped back to it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import BadInput
from harness.scenario import Fault, FaultAction, Scenario, parse_duration, parse_fraction, normalize_hop

Loc = tuple[str | int, ...]

SERVICE_ACTIONS = frozenset({"kill", "stop", "pause"})
HOP_ACTIONS = frozenset({"latency", "timeout", "partition"})
"""Together exactly the `FaultAction` values (a unit test holds them to that)."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_FORMAT_TIP = "the file format is described in scenarios/README.md"
_EXAMPLES = {
    "name": "name: replica-kill",
    "timeline": "timeline: [{at: 2s, action: kill, target: model-a, duration: 8s}]",
}


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    path: str
    message: str
    tip: str = field(compare=False)

    def render(self, file: Path) -> str:
        where = f"{file}:{self.line}: "
        return f"{where}{self.path}: {self.message}" if self.path else where + self.message


class ScenarioError(BadInput):
    """Everything wrong with one scenario file: one line per problem, sorted by line."""

    def __init__(self, file: Path, problems: list[Problem]) -> None:
        self.file = file
        self.problems = sorted(problems)
        super().__init__("\n".join(problem.render(file) for problem in self.problems), _tips(self.problems))


def _tips(problems: list[Problem]) -> str:
    """One tip per distinct advice; with several, each says which field it is for."""
    tips: dict[str, str] = {}
    for problem in problems:
        tips.setdefault(problem.tip, problem.path)
    if len(tips) == 1:
        return next(iter(tips))
    return "\n".join(f"{path}: {tip}" if path else tip for tip, path in tips.items())


def load_scenario(path: Path, services: set[str] | None = None, hops: set[str] | None = None) -> Scenario:
    """Load and check one file; `services`/`hops` None skips the target checks."""
    data, lines, problems = _read(path)
    if not isinstance(data, dict):
        top = Problem(lines.line(()), "", f"the top level is a {_kind(data)}, not a mapping", _top_tip())
        raise ScenarioError(path, [*problems, top])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(path, problems + [_problem(e, lines) for e in error.errors()]) from None
    problems += _target_problems(scenario, lines, services, hops)
    problems += _overlap_problems(scenario, lines) + _after_load_problems(scenario, lines)
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
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def summarize(scenario: Scenario) -> str:
    """One line for `failover list`: name, faults, SLOs."""
    faults = ", ".join(_describe_fault(fault) for fault in scenario.timeline)
    return f"{scenario.name}  {faults}; {_describe_slos(scenario)}"


# --- reading ------------------------------------------------------------------


def _read(path: Path) -> tuple[Any, _Lines, list[Problem]]:
    """The file's data, where each value was, and the problems YAML itself would hide (duplicate keys)."""
    text = _text(path)
    builder = _Builder()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = builder.build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as error:
        raise ScenarioError(path, [_yaml_problem(error)]) from None
    except yaml.YAMLError as error:  # a ReaderError: a character YAML does not allow
        line = text.count("\n", 0, getattr(error, "position", 0)) + 1
        raise ScenarioError(path, [Problem(line, "", f"invalid YAML: {error}", "remove control characters")]) from None
    if node is None:
        raise ScenarioError(path, [Problem(1, "", "the file is empty", _top_tip())])
    return data, builder.lines, builder.problems


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as error:
        raise BadInput(f"{path}: cannot read it: {error.strerror}", "check the path and its permissions") from None
    except UnicodeDecodeError as error:
        line = error.object.count(b"\n", 0, error.start) + 1
        raise ScenarioError(path, [Problem(line, "", "not UTF-8 text", "save the file as UTF-8")]) from None


def _yaml_problem(error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "unreadable"
    if error.problem and error.context and error.context_mark:
        what += f" ({error.context}, started at line {error.context_mark.line + 1})"
    tip = (
        "YAML needs `key: value` (a space after the colon), consistent indentation with spaces, "
        "and quotes around values that contain ': ' or start with a special character"
    )
    return Problem(mark.line + 1 if mark else 1, "", f"invalid YAML: {what}", tip)


def _top_tip() -> str:
    return f"a scenario is a mapping, at least `{_EXAMPLES['name']}` and `{_EXAMPLES['timeline']}`"


@dataclass
class _Lines:
    """1-based start line of every value and every mapping key, by path."""

    values: dict[Loc, int] = field(default_factory=dict)
    keys: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc, *, of_key: bool = False) -> int:
        """The line of `loc`, else of its nearest ancestor that is in the file."""
        table = self.keys if of_key else self.values
        if loc in table:
            return table[loc]
        return self.line(loc[:-1]) if loc else 1


class _Builder:
    """Python data from a composed YAML node tree, remembering where each value was."""

    def __init__(self) -> None:
        self.constructor = yaml.SafeLoader("")
        self.lines = _Lines()
        self.problems: list[Problem] = []

    def build(self, node: Node, loc: Loc) -> Any:
        self.lines.values[loc] = node.start_mark.line + 1
        if isinstance(node, MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, SequenceNode):
            return [self._child(child, (*loc, index), child) for index, child in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def _child(self, node: Node, loc: Loc, key_node: Node) -> Any:
        self.lines.keys[loc] = key_node.start_mark.line + 1
        return self.build(node, loc)

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any]:
        self._check_duplicates(node, loc)
        self.constructor.flatten_mapping(node)  # `<<: *anchor` merge keys; the mapping's own keys win
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                data[key_node.value] = self._child(value_node, (*loc, key_node.value), key_node)
            else:
                line = key_node.start_mark.line + 1
                self.problems.append(Problem(line, _dotted(loc), "a key must be a plain name", _FORMAT_TIP))
        return data

    def _check_duplicates(self, node: MappingNode, loc: Loc) -> None:
        """PyYAML silently keeps the last of two equal keys; a person almost never means that."""
        first_lines: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in first_lines:
                message = f"duplicate key (first at line {first_lines[key_node.value]})"
                tip = "keep one of them: YAML would silently use the last"
                self.problems.append(Problem(line, _dotted((*loc, key_node.value)), message, tip))
            first_lines.setdefault(key_node.value, line)


# --- pydantic errors to problems ------------------------------------------------


def _problem(error: ErrorDetails, lines: _Lines) -> Problem:
    loc, kind = tuple(error["loc"]), error["type"]
    if kind == "extra_forbidden":
        return _unknown_field(loc, lines)
    if kind == "missing":
        return Problem(lines.line(loc[:-1]), _dotted(loc), "missing (required)", _missing_tip(loc))
    if kind in ("fault_parameter_missing", "fault_parameter_not_allowed"):
        return _fault_parameter(error, lines)
    return Problem(lines.line(loc), _dotted(loc), _message(error), _value_tip(error))


def _unknown_field(loc: Loc, lines: _Lines) -> Problem:
    known = _field_names(loc[:-1])
    tip = f"{_did_you_mean(str(loc[-1]), known)}fields here: {', '.join(known)}"
    return Problem(lines.line(loc, of_key=True), _dotted(loc), "unknown field", tip)


def _missing_tip(loc: Loc) -> str:
    name = str(loc[-1])
    if name in _EXAMPLES:
        return f"add `{_EXAMPLES[name]}`"
    kind = _kind_tip(_field_at(loc))
    return f"add '{name}:'" + (f"; {kind}" if kind else "")


def _fault_parameter(error: ErrorDetails, lines: _Lines) -> Problem:
    context = error.get("ctx", {})
    parameter, action = context["parameter"], context["action"]
    loc = (*error["loc"], parameter)
    if error["type"] == "fault_parameter_missing":
        tip = f"add '{parameter}:'; {_kind_tip(_field_at(loc))}"
        return Problem(lines.line(loc[:-1]), _dotted(loc), f"missing (action '{action}' needs it)", tip)
    takes = f"takes only {context['allowed']}" if context["allowed"] else "takes no parameters"
    tip = f"remove '{parameter}:' (action '{action}' {takes})"
    return Problem(lines.line(loc, of_key=True), _dotted(loc), f"does not apply to action '{action}'", tip)


def _message(error: ErrorDetails) -> str:
    kind, value = error["type"], error.get("input")
    if value is None:
        return "empty (no value after the colon)"
    if kind == "literal_error":
        return f"unknown {error['loc'][-1]} '{value}'"
    if kind == "model_type":
        return f"expected a mapping (`key: value` lines), got a {_kind(value)}"
    if kind == "list_type":
        return f"expected a list (`- item` lines), got a {_kind(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"'{value}' is not a valid {error['loc'][-1]}"
    message = error["msg"].removeprefix("Value error, ")
    return message if kind == "value_error" else f"{message}, got '{value}'"


def _value_tip(error: ErrorDetails) -> str:
    loc, value = tuple(error["loc"]), error.get("input")
    if error["type"] == "string_pattern_mismatch":
        suggestion = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-") or "replica-kill"
        return f"use lowercase letters, digits and dashes, starting with a letter or digit, e.g. '{suggestion}'"
    if len(loc) == 1 and loc[0] in _EXAMPLES:
        return f"for example: `{_EXAMPLES[str(loc[0])]}`"
    field_info = _field_at(loc)
    choices = _literal_choices(field_info)
    if choices:
        return f"{_did_you_mean(str(value), choices)}{loc[-1]} is one of: {', '.join(choices)}"
    description = field_info.description if field_info else None
    return _kind_tip(field_info) or _range_tip(loc, field_info) or description or _FORMAT_TIP


def _kind_tip(field_info: FieldInfo | None) -> str:
    validators = {part.func for part in _annotation_parts(field_info) if isinstance(part, BeforeValidator)}
    if parse_duration in validators:
        return "durations look like 250ms, 30s or 2m (a bare number is seconds)"
    if parse_fraction in validators:
        return "percentages look like 99.9% (from 0% to 100%); a bare number is a fraction such as 0.999"
    return ""


def _range_tip(loc: Loc, field_info: FieldInfo | None) -> str:
    bounds = [
        f"{symbol} {getattr(part, name):g}"
        for part in _annotation_parts(field_info)
        for name, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if isinstance(getattr(part, name, None), (int, float))
    ]
    return f"{loc[-1]} must be {' and '.join(bounds)}" if bounds else ""


def _literal_choices(field_info: FieldInfo | None) -> list[str]:
    for part in _annotation_parts(field_info):
        if get_origin(part) is Literal:
            return [str(choice) for choice in get_args(part)]
    return []


# --- the model's shape, looked up by path -----------------------------------------


def _field_at(loc: Loc) -> FieldInfo | None:
    model: type[BaseModel] | None = Scenario
    found = None
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: the list's items have the field's model
        found = _model_field(model, part) if model else None
        if found is None:
            return None
        model = _model_in(found.annotation)
    return found


def _field_names(loc: Loc) -> list[str]:
    """The keys the mapping at `loc` accepts (aliases as written in a file)."""
    if loc:
        field_info = _field_at(loc)
        model = _model_in(field_info.annotation) if field_info else None
    else:
        model = Scenario
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_field(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside `list[X]`, `X | None` and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found:
            return found
    return None


def _annotation_parts(field_info: FieldInfo | None) -> Iterator[Any]:
    """Every type and metadata item of a field, through Annotated, unions and containers."""
    if field_info is None:
        return
    yield from field_info.metadata
    pending = [field_info.annotation]
    while pending:
        part = pending.pop()
        yield part
        if get_origin(part) is not Literal:
            pending += get_args(part)


# --- checks the model cannot make ---------------------------------------------------


def _target_problems(scenario: Scenario, lines: _Lines, services: set[str] | None, hops: set[str] | None) -> list[Problem]:
    problems = []
    for index, fault in enumerate(scenario.timeline):
        on_services = fault.action in SERVICE_ACTIONS
        known = services if on_services else hops
        name = fault.target if on_services else normalize_hop(fault.target)
        if known is not None and name not in known:
            loc: Loc = ("timeline", index, "target")
            message = _unknown_target_message(fault, on_services, services, hops)
            tip = _target_suggestion(fault, on_services, known) + _known_targets(on_services, known)
            problems.append(Problem(lines.line(loc), _dotted(loc), message, tip))
    return problems


def _unknown_target_message(fault: Fault, on_services: bool, services: set[str] | None, hops: set[str] | None) -> str:
    wanted, actions = ("service", SERVICE_ACTIONS) if on_services else ("hop", HOP_ACTIONS)
    message = f"'{fault.target}' is not a {wanted} of this stack ({_and(actions)} act on {wanted}s)"
    if on_services and hops and normalize_hop(fault.target) in hops:
        return f"{message}; it is a hop, for {_and(HOP_ACTIONS)}"
    if not on_services and services and fault.target in services:
        return f"{message}; it is a service, for {_and(SERVICE_ACTIONS)}"
    return message


def _target_suggestion(fault: Fault, on_services: bool, known: set[str]) -> str:
    """A service given to a hop action most likely means the hop into it (model-a -> gateway-model-a)."""
    into = sorted(hop for hop in known if hop.endswith(f"-{fault.target}"))
    if not on_services and into:
        return f"did you mean '{into[0]}'? "
    return _did_you_mean(fault.target if on_services else normalize_hop(fault.target), sorted(known))


def _known_targets(on_services: bool, known: set[str]) -> str:
    if on_services:
        return f"services: {', '.join(sorted(known)) or '(none)'}"
    return f"hops (Toxiproxy proxies, also written from->to): {', '.join(sorted(known)) or '(none)'}"


def _overlap_problems(scenario: Scenario, lines: _Lines) -> list[Problem]:
    """One fault per target at a time: a second one would be undone by the first's revert."""
    problems = []
    faults = list(enumerate(scenario.timeline))
    for (first, a), (second, b) in itertools.combinations(sorted(faults, key=lambda pair: pair[1].at), 2):
        if _target_key(a) == _target_key(b) and b.at < _end(a):
            loc: Loc = ("timeline", second, "at")
            where = f"timeline[{first}] (line {lines.line(('timeline', first))})"
            message = f"overlaps {where} on '{a.target}', which lasts {_span(a)}"
            tip = _overlap_tip(first, a)
            problems.append(Problem(lines.line(loc), _dotted(loc), message, tip))
    return problems


def _overlap_tip(first: int, fault: Fault) -> str:
    if fault.duration is None:
        return f"a target takes one fault at a time: give timeline[{first}] a duration (without one it lasts to the end)"
    return f"a target takes one fault at a time: start this one at {_seconds(_end(fault))} or later"


def _after_load_problems(scenario: Scenario, lines: _Lines) -> list[Problem]:
    load_end = scenario.load.duration
    if load_end is None:
        return []
    problems = []
    for index, fault in enumerate(scenario.timeline):
        if fault.at >= load_end:
            loc: Loc = ("timeline", index, "at")
            message = f"{_seconds(fault.at)} is not before the load ends (load.duration: {_seconds(load_end)})"
            tip = (
                f"start faults before {_seconds(load_end)}, or lengthen load.duration "
                "(or leave it out: load then runs until the last revert plus observe_after)"
            )
            problems.append(Problem(lines.line(loc), _dotted(loc), message, tip))
    return problems


def _target_key(fault: Fault) -> tuple[bool, str]:
    on_services = fault.action in SERVICE_ACTIONS
    return on_services, fault.target if on_services else normalize_hop(fault.target)


def _end(fault: Fault) -> float:
    return math.inf if fault.duration is None else fault.at + fault.duration


def _span(fault: Fault) -> str:
    end = "the end" if fault.duration is None else _seconds(_end(fault))
    return f"{_seconds(fault.at)} to {end}"


# --- wording ----------------------------------------------------------------------


def _describe_fault(fault: Fault) -> str:
    parameters = {"latency": fault.latency, "jitter": fault.jitter, "timeout": fault.timeout}
    given = ", ".join(f"{name} {_seconds(value)}" for name, value in parameters.items() if value is not None)
    until = f" for {_seconds(fault.duration)}" if fault.duration is not None else " until the end"
    return f"{fault.action} {fault.target}{f' ({given})' if given else ''} at {_seconds(fault.at)}{until}"


def _describe_slos(scenario: Scenario) -> str:
    slos = scenario.slos
    bounds = [
        ("rto", "<=", slos.rto, _seconds),
        ("rpo", "<=", slos.rpo, _seconds),
        ("availability", ">=", slos.availability, _percent),
        ("p50", "<=", slos.latency.p50, _seconds),
        ("p95", "<=", slos.latency.p95, _seconds),
        ("p99", "<=", slos.latency.p99, _seconds),
        ("accuracy", ">=", slos.accuracy, _percent),
    ]
    shown = [f"{name}{op}{fmt(value)}" for name, op, value, fmt in bounds if value is not None]
    return f"SLO {' '.join(shown)}" if shown else "no SLOs"


def _seconds(value: float) -> str:
    if 0 < value < 1:
        return f"{value * 1000:g}ms"
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g}m"
    return f"{value:g}s"


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def _dotted(loc: Loc) -> str:
    """('timeline', 0, 'at') -> 'timeline[0].at'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = get_close_matches(word, choices, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def _and(actions: frozenset[str]) -> str:
    ordered = [action for action in get_args(FaultAction) if action in actions]
    return ", ".join(ordered[:-1]) + f" and {ordered[-1]}"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, dict) else f"single value ('{value}')"


def _missing_path_tip(path: Path) -> str:
    siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
    close = get_close_matches(path.name, siblings, n=1)
    hint = f"did you mean '{path.parent / close[0]}'? " if close else ""
    return f"{hint}pass scenario files (.yaml) or folders of them, e.g. scenarios/"

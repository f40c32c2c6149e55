"""YAML files to validated pydantic models, every problem as `FILE:LINE: field.path: what` with a tip.

PyYAML's composed node tree keeps line numbers that `yaml.safe_load` throws
away; the data is built from that tree while recording each node's line by
its path, and pydantic's error `loc` (the same path) is mapped back to it.

Reading is bounded before anything is built: aliases (`*name`) let a few
hundred bytes expand to a billion values ("billion laughs") or to a value that
contains itself (`a: &a [*a]`), so the tree is measured as a graph first.
Tips come from the model: `Field(examples=...)`, `Field(description=...)`,
`Literal` choices, and `Tip(...)` items in `Annotated` metadata.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import BadInput

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 100_000
"""Hand-written files are a few kB; PyYAML (pure Python, for its messages) reads ~100 kB/s."""
MAX_VALUES = 10_000
"""Keys and values a file may hold once its aliases are copied out; hand-written files have hundreds."""
MAX_DEPTH = 50
_MERGE_TAG = "tag:yaml.org,2002:merge"
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_YAML_TIP = (
    "YAML needs `key: value` (a space after the colon), consistent indentation with spaces, "
    "and quotes around values that contain ': ' or start with a special character"
)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a file; `field` is a dotted path such as `timeline[0].at` ('' for the file).

    Line 0: the file as a whole (it cannot be read).
    """

    line: int
    field: str
    message: str
    tip: str = dataclasses.field(default="", compare=False)

    def render(self, file: Path) -> str:
        where = f"{file}:{self.line}: " if self.line else f"{file}: "
        return f"{where}{self.field}: {self.message}" if self.field else where + self.message


class FileProblems(BadInput):
    """Everything wrong with one file: one `FILE:LINE: field: message` line per problem, sorted by line."""

    def __init__(self, file: Path, problems: list[Problem]) -> None:
        self.file = file
        self.problems = sorted(problems)
        super().__init__("\n".join(problem.render(file) for problem in self.problems), _combined_tip(self.problems))


@dataclass(frozen=True)
class Tip:
    """Advice for a bad value, as `Annotated` metadata: `Annotated[float, Tip("durations look like 30s")]`.

    Pydantic ignores it; `validate_model` shows it when the value is wrong or missing.
    """

    text: str


class YamlDocument:
    """A file's data, the line of every value and key in it, and what YAML itself would hide (duplicate keys)."""

    def __init__(self, data: Any, values: dict[Loc, int], keys: dict[Loc, int], problems: list[Problem]) -> None:
        self.data = data
        self.problems = problems
        self._values = values
        self._keys = keys

    def line(self, loc: Loc, *, of_key: bool = False) -> int:
        """The 1-based line of `loc`, else of its nearest ancestor that is in the file."""
        table = self._keys if of_key else self._values
        if loc in table:
            return table[loc]
        return self.line(loc[:-1]) if loc else 1


def read_yaml(path: Path) -> YamlDocument:
    """Read a YAML file safely (no tags beyond YAML's own); `FileProblems` if it cannot be read."""
    text = _text(path)
    try:
        node = yaml.compose(text, Loader=_DepthBoundLoader)
    except yaml.MarkedYAMLError as error:
        raise FileProblems(path, [_yaml_problem(error)]) from None
    except yaml.YAMLError as error:  # a ReaderError: a character YAML does not allow
        line = text.count("\n", 0, getattr(error, "position", 0)) + 1
        raise FileProblems(path, [Problem(line, "", f"invalid YAML: {error}", "remove control characters")]) from None
    except _TooDeep as error:
        raise FileProblems(path, [_too_deep(error.line)]) from None
    if node is None:
        return YamlDocument(None, {(): 1}, {}, [])
    _check_expansion(path, node)
    builder = _Builder()
    try:
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as error:  # a tag SafeLoader does not construct, e.g. !!python/object
        raise FileProblems(path, [_yaml_problem(error)]) from None
    return YamlDocument(data, builder.values, builder.keys, builder.problems)


def validate_model(path: Path, document: YamlDocument, model: type[M], *, format_tip: str = "") -> M:
    """`model` from the document, or `FileProblems` naming the line, field and fix of every problem.

    `format_tip` is the last-resort advice (e.g. where the format is described).
    """
    shape = _Shape(model, format_tip)
    if document.data is None:
        raise FileProblems(path, [*document.problems, Problem(1, "", "the file is empty", shape.top_tip())])
    if not isinstance(document.data, dict):
        message = f"the top level is a {kind(document.data)}, not a mapping"
        raise FileProblems(path, [*document.problems, Problem(document.line(()), "", message, shape.top_tip())])
    try:
        result = model.model_validate(document.data)
    except ValidationError as error:
        problems = [shape.problem(details, document) for details in error.errors()]
        raise FileProblems(path, document.problems + problems) from None
    if document.problems:
        raise FileProblems(path, document.problems)
    return result


def field_missing(field: str, why: str) -> PydanticCustomError:
    """For a model validator: `field` must be given here; `why` ends "missing (...)"."""
    return PydanticCustomError("field_missing", "'{field}' is missing ({why})", {"field": field, "why": why})


def field_not_allowed(field: str, why: str, fix: str) -> PydanticCustomError:
    """For a model validator: `field` must not be given here; the tip says "remove 'field:' (fix)"."""
    context = {"field": field, "why": why, "fix": fix}
    return PydanticCustomError("field_not_allowed", "'{field}' {why}", context)


def dotted(loc: Loc) -> str:
    """('timeline', 0, 'at') -> 'timeline[0].at'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def did_you_mean(word: str, choices: list[str]) -> str:
    close = get_close_matches(word, choices, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, dict) else f"single value ('{value}')"


def _combined_tip(problems: list[Problem]) -> str:
    """One tip per distinct advice; with several, each says which field it is for."""
    tips: dict[str, str] = {}
    for problem in problems:
        if problem.tip:
            tips.setdefault(problem.tip, problem.field)
    if len(tips) == 1:
        return next(iter(tips))
    return "\n".join(f"{field}: {tip}" if field else tip for tip, field in tips.items())


# --- reading ------------------------------------------------------------------


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _DepthBoundLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at MAX_DEPTH levels: it recurses once per level, into a RecursionError."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(self.peek_event().start_mark.line + 1)
        self.depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self.depth -= 1


def _text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        problem = Problem(0, "", f"cannot read it: {error.strerror}", "check the path and its permissions")
        raise FileProblems(path, [problem]) from None
    if len(raw) > MAX_FILE_BYTES:
        message = f"larger than {MAX_FILE_BYTES // 1000} kB: refused, as reading it would take long"
        tip = "a file like this is a few kilobytes: is it the right file?"
        raise FileProblems(path, [Problem(1, "", message, tip)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise FileProblems(path, [Problem(line, "", "not UTF-8 text", "save the file as UTF-8")]) from None


def _yaml_problem(error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "unreadable"
    if error.problem and error.context and error.context_mark:
        what += f" ({error.context}, started at line {error.context_mark.line + 1})"
    return Problem(mark.line + 1 if mark else 1, "", f"invalid YAML: {what}", _YAML_TIP)


def _too_deep(line: int) -> Problem:
    message = f"nested more than {MAX_DEPTH} levels deep: refused, as reading it could exhaust the stack"
    return Problem(line, "", message, "a file like this nests a few levels: is it the right file?")


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, SequenceNode) else []


def _check_expansion(path: Path, root: Node) -> None:
    """Refuse a node graph that contains itself, or that expands too wide or too deep, before building it.

    One post-order walk over the composed graph, where an alias is a shared node:
    each node is measured once, so this takes time in the file's size, not in its expansion.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    aliased = False
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            size[key] = min(1 + sum(size[id(child)] for child in children), MAX_VALUES + 1)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            _refuse_if_too_big(path, node, size[key], depth[key], aliased)
        elif key in size:
            aliased = True  # a node reached a second time: an alias
        elif key in on_path:
            raise FileProblems(path, [_recursive(node)])
        else:
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _refuse_if_too_big(path: Path, node: Node, size: int, depth: int, aliased: bool) -> None:
    line = node.start_mark.line + 1
    if depth > MAX_DEPTH:
        raise FileProblems(path, [_too_deep(line)])
    if size <= MAX_VALUES:
        return
    if aliased:
        message = (
            f"aliases (*name) expand this value to more than {MAX_VALUES} keys and values: refused, "
            "as an alias bomb (YAML's 'billion laughs') takes minutes and all memory to read"
        )
        tip = "repeat fewer values through aliases, or write them out"
    else:
        message = f"more than {MAX_VALUES} keys and values: refused, as reading it would take long"
        tip = "a file like this holds hundreds: is it the right file?"
    raise FileProblems(path, [Problem(line, "", message, tip)])


def _recursive(node: Node) -> Problem:
    message = "a recursive alias: this value contains itself (through *name), so it never ends"
    tip = "an alias (*name) may repeat a value defined before it, not one it is inside of"
    return Problem(node.start_mark.line + 1, "", message, tip)


class _Builder:
    """Python data from a composed (and measured) YAML node tree, remembering where each value was."""

    def __init__(self) -> None:
        self.constructor = yaml.SafeLoader("")
        self.values: dict[Loc, int] = {}
        self.keys: dict[Loc, int] = {}
        self.problems: list[Problem] = []

    def build(self, node: Node, loc: Loc) -> Any:
        self.values[loc] = node.start_mark.line + 1
        if isinstance(node, MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, SequenceNode):
            return [self._child(child, (*loc, index), child) for index, child in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def _child(self, node: Node, loc: Loc, key_node: Node) -> Any:
        self.keys[loc] = key_node.start_mark.line + 1
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
                self.problems.append(Problem(line, dotted(loc), "a key must be a plain name", "write `name: value`"))
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
                self.problems.append(Problem(line, dotted((*loc, key_node.value)), message, tip))
            first_lines.setdefault(key_node.value, line)


# --- pydantic errors to problems ------------------------------------------------


class _Shape:
    """The model's fields, looked up by error path, for messages and tips."""

    def __init__(self, model: type[BaseModel], format_tip: str) -> None:
        self.model = model
        self.format_tip = format_tip

    def top_tip(self) -> str:
        title = self.model.model_config.get("title") or self.model.__name__.lower()
        required = [
            f"`{info.alias or name}: {_example(info)}`"
            for name, info in self.model.model_fields.items()
            if info.examples and (info.is_required() or _never_empty(info))
        ]
        if not required:
            return f"a {title} is a mapping of `key: value` lines"
        return f"a {title} is a mapping, at least {' and '.join(required)}"

    def problem(self, error: ErrorDetails, document: YamlDocument) -> Problem:
        """`error["loc"]` names the member a tagged union chose (`timeline.0.latency.jitter`); the
        problem's path is the file's (`timeline[0].jitter`), found by `_walk`."""
        raw, error_type = tuple(error["loc"]), error["type"]
        loc = self._walk(raw)[0]
        if error_type in ("union_tag_invalid", "union_tag_not_found"):
            return self._bad_tag(error, loc, document)
        if error_type == "extra_forbidden":
            return self._unknown_field(raw, document)
        if error_type == "missing":
            return Problem(document.line(loc[:-1]), dotted(loc), "missing (required)", self._missing_tip(raw))
        if error_type in ("field_missing", "field_not_allowed"):
            return self._rule(error, document)
        return Problem(document.line(loc), dotted(loc), _message(error, loc), self._value_tip(error))

    def _bad_tag(self, error: ErrorDetails, loc: Loc, document: YamlDocument) -> Problem:
        """A tagged union's tag (a fault's `action`) missing or not one of its members'."""
        field_info = self._walk(tuple(error["loc"]))[1]
        members = _tagged_members(field_info)
        key, tags = _discriminator(field_info), list(members)
        tag_loc = (*loc, key)
        choices = f"{key} is one of: {', '.join(tags)}"
        if error["type"] == "union_tag_not_found":
            return Problem(document.line(loc), dotted(tag_loc), "missing (required)", f"add '{key}:'; {choices}")
        tag = str(error.get("ctx", {}).get("tag", ""))
        return Problem(document.line(tag_loc), dotted(tag_loc), f"unknown {key} '{tag}'", did_you_mean(tag, tags) + choices)

    def _unknown_field(self, raw: Loc, document: YamlDocument) -> Problem:
        loc = self._walk(raw)[0]
        known = self._field_names(raw[:-1])
        tip = f"{did_you_mean(str(loc[-1]), known)}fields here: {', '.join(known)}"
        return Problem(document.line(loc, of_key=True), dotted(loc), self._unknown_why(raw, loc), tip)

    def _unknown_why(self, raw: Loc, loc: Loc) -> str:
        """'unknown field', or which member of a tagged union does not take it ("not a field of action 'kill'")."""
        if len(raw) - len(loc) != 1 or raw[-2] == loc[-2]:
            return "unknown field"
        union = self._walk(raw[:-2])[1]
        if not any(_model_field(member, str(raw[-1])) for member in _tagged_members(union).values()):
            return "unknown field"
        return f"not a field of {_discriminator(union)} '{raw[-2]}'"

    def _missing_tip(self, loc: Loc) -> str:
        name, field_info = str(loc[-1]), self._field_at(loc)
        if field_info is not None and field_info.examples:
            return f"add `{name}: {_example(field_info)}`"
        tips = "; ".join(_tips(field_info))
        return f"add '{name}:'" + (f"; {tips}" if tips else "")

    def _rule(self, error: ErrorDetails, document: YamlDocument) -> Problem:
        """A field a model validator requires or refuses (see `field_missing`, `field_not_allowed`)."""
        context = error.get("ctx", {})
        raw = (*error["loc"], context["field"])
        loc = self._walk(raw)[0]
        if error["type"] == "field_missing":
            tip = self._missing_tip(raw)
            return Problem(document.line(loc[:-1]), dotted(loc), f"missing ({context['why']})", tip)
        tip = f"remove '{context['field']}:' ({context['fix']})"
        return Problem(document.line(loc, of_key=True), dotted(loc), context["why"], tip)

    def _value_tip(self, error: ErrorDetails) -> str:
        loc, value = tuple(error["loc"]), error.get("input")
        field_info = self._field_at(loc)
        tips = list(_tips(field_info))
        if error["type"] == "string_pattern_mismatch":
            example = f"e.g. '{_pattern_suggestion(str(value), error, field_info)}'"
            return f"{'; '.join(tips)}, {example}" if tips else example
        if field_info is not None and field_info.examples:
            return f"for example: `{loc[-1]}: {_example(field_info)}`"
        choices = _literal_choices(field_info)
        if choices:
            return f"{did_you_mean(str(value), choices)}{loc[-1]} is one of: {', '.join(choices)}"
        if error["type"] in _RANGE_ERRORS:
            return _range_tip(loc, field_info)
        description = field_info.description if field_info else None
        return "; ".join(tips) or description or self.format_tip

    def _walk(self, raw: Loc) -> tuple[Loc, FieldInfo | None, type[BaseModel] | None]:
        """Follow an error's path through the models: (the path without union tags, the field at its
        end, the model that field holds)."""
        model: type[BaseModel] | None = self.model
        found: FieldInfo | None = None
        members: dict[str, type[BaseModel]] = {}
        keyed = False
        loc: list[str | int] = []
        for index, part in enumerate(raw):
            if isinstance(part, str) and part in members:
                model, members, found = members[part], {}, None  # a member: the path is at a model, not a field
                continue
            loc.append(part)
            if isinstance(part, int) or keyed:
                keyed = False
                continue  # a list index or a mapping's key: its items have the field's model
            found = _model_field(model, part) if model else None
            if found is None:
                return (*loc, *raw[index + 1 :]), None, None
            keyed = get_origin(found.annotation) is dict
            model, members = _model_in(found.annotation), _tagged_members(found)
        return tuple(loc), found, model

    def _field_at(self, raw: Loc) -> FieldInfo | None:
        return self._walk(raw)[1]

    def _field_names(self, raw: Loc) -> list[str]:
        """The keys the mapping at `raw` accepts (aliases as written in a file)."""
        model = self._walk(raw)[2] if raw else self.model
        if model is None:
            return []
        return [info.alias or name for name, info in model.model_fields.items()]


def _message(error: ErrorDetails, loc: Loc) -> str:
    error_type, value = error["type"], error.get("input")
    if value is None:
        return "empty (no value after the colon)"
    if error_type == "literal_error":
        return f"unknown {loc[-1]} '{value}'"
    if error_type == "model_type":
        return f"expected a mapping (`key: value` lines), got a {kind(value)}"
    if error_type == "list_type":
        return f"expected a list (`- item` lines), got a {kind(value)}"
    if error_type == "too_short":
        return "must not be empty"
    if error_type == "string_pattern_mismatch":
        return f"'{value}' is not a valid {loc[-1]}"
    message = error["msg"].removeprefix("Value error, ")
    return message if error_type == "value_error" else f"{message}, got '{value}'"


def _pattern_suggestion(value: str, error: ErrorDetails, field_info: FieldInfo | None) -> str:
    """The value made to fit (lowercase, dashes), else the field's example."""
    suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    pattern = error.get("ctx", {}).get("pattern", "")
    if suggestion and re.fullmatch(pattern, suggestion):
        return suggestion
    return _example(field_info) if field_info is not None and field_info.examples else suggestion


def _example(field_info: FieldInfo) -> str:
    example = (field_info.examples or [""])[0]
    if isinstance(example, str):
        return example
    return yaml.safe_dump(example, default_flow_style=True, sort_keys=False, width=1_000).strip()


def _tips(field_info: FieldInfo | None) -> Iterator[str]:
    seen = set()
    for part in _annotation_parts(field_info):
        if isinstance(part, Tip) and part.text not in seen:
            seen.add(part.text)
            yield part.text


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


def _never_empty(field_info: FieldInfo) -> bool:
    """An optional list that must not be empty when given (a scenario's timeline, when no monkey picks faults)."""
    return any(getattr(part, "min_length", None) == 1 for part in field_info.metadata)


def _discriminator(field_info: FieldInfo | None) -> str:
    """The key that tells a tagged union's members apart (`action`), '' when the field is not one."""
    for part in _annotation_parts(field_info):
        if isinstance(part, FieldInfo) and isinstance(part.discriminator, str):
            return part.discriminator
    return ""


def _tagged_members(field_info: FieldInfo | None) -> dict[str, type[BaseModel]]:
    """Tag -> member model of a field that is (a list of) a tagged union; empty otherwise."""
    key = _discriminator(field_info)
    members: dict[str, type[BaseModel]] = {}
    for part in _annotation_parts(field_info) if key else ():
        if isinstance(part, type) and issubclass(part, BaseModel) and key in part.model_fields:
            members.update({str(tag): part for tag in get_args(part.model_fields[key].annotation)})
    return members


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
    """Every type and metadata item of a field, through Annotated, unions and containers, outermost first."""
    if field_info is None:
        return
    yield from field_info.metadata
    pending = [field_info.annotation]
    while pending:
        part = pending.pop(0)
        yield part
        if isinstance(part, FieldInfo):
            pending += part.metadata
        elif get_origin(part) is not Literal:
            pending += get_args(part)

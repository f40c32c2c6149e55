"""Target files: YAML to a checked `TargetSpec`, every problem as `FILE:LINE: field: what`.

Values are interpolated like Compose does (`${VAR:-default}`), top-level `x-`
keys are free for YAML anchors, relative paths are resolved against the
target file, and the names it uses are checked against its compose file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from harness.errors import BadInput
from harness.load.payloads import load_payloads
from harness.models.faulty import FaultyLibrary
from harness.stack.spec import StackSpec, interpolate, load_stack_spec
from harness.targets.spec import Model, TargetSpec
from harness.yaml_model import (
    FileProblems,
    Problem,
    YamlDocument,
    read_yaml,
    validate_model,
)


def load_target(path: Path, env: Mapping[str, str] | None = None) -> TargetSpec:
    """The target declared in `path`, with absolute paths; `FileProblems` (exit 2) when anything is wrong."""
    environment = dict(os.environ) if env is None else env
    document = read_yaml(path)
    document.data = _without_extensions(interpolate(document.data, environment))
    spec = _absolute(validate_model(path, document, TargetSpec), path.parent)
    problems = _payload_problems(spec, document)
    problems += _model_problems(spec, document)
    problems += _compose_problems(spec, document, _compose(spec, document, path, environment))
    if problems:
        raise FileProblems(path, problems)
    return spec


def _without_extensions(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if not str(key).startswith("x-")}
    return data


def _absolute(spec: TargetSpec, folder: Path) -> TargetSpec:
    compose = (folder / spec.compose_file).resolve()
    entry = spec.entry.model_copy(update={"payloads": (folder / spec.entry.payloads).resolve()})
    models = {name: _absolute_model(model, folder) for name, model in spec.models.items()}
    return spec.model_copy(update={"compose_file": compose, "entry": entry, "models": models})


def _absolute_model(model: Model, folder: Path) -> Model:
    paths = {name: (folder / path).resolve() for name in ("golden", "faulty") if (path := getattr(model, name))}
    return model.model_copy(update={"registry": model.registry.absolute(folder), **paths})


def _payload_problems(spec: TargetSpec, document: YamlDocument) -> list[Problem]:
    try:
        load_payloads(spec.entry.payloads)
    except BadInput as error:
        tip = error.tip or "a relative path starts from the target file's folder"
        return [Problem(document.line(("entry", "payloads")), "entry.payloads", error.message, tip)]
    return []


def _model_problems(spec: TargetSpec, document: YamlDocument) -> list[Problem]:
    """Each model's services are the target's, its golden requests labelled, its faulty library readable."""
    problems = []
    for name, model in spec.models.items():
        where = ("models", name)
        for index, service in enumerate(model.served_by):
            if service not in spec.services:
                close = get_close_matches(service, spec.services, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(
                    Problem(
                        document.line((*where, "served_by", index)),
                        f"models.{name}.served_by[{index}]",
                        f"'{service}' is not one of the target's services",
                        f"{hint}services: {', '.join(spec.services) or 'none'} (list it in `services` first)",
                    )
                )
        problems += _file_problems(document, where, "golden", model.golden, _check_golden)
        problems += _file_problems(document, where, "faulty", model.faulty, FaultyLibrary)
    return problems


def _check_golden(path: Path) -> None:
    unlabelled = sum(payload.label is None for payload in load_payloads(path))
    if unlabelled:
        raise BadInput(
            f"{path}: {unlabelled} requests without a label",
            'golden requests are labelled: {"body": {...}, "label": 3} on every line',
        )


def _file_problems(
    document: YamlDocument, where: tuple[str, str], field: str, path: Path | None, check: Callable[[Path], object]
) -> list[Problem]:
    if path is None:
        return []
    try:
        check(path)
    except BadInput as error:
        tip = error.tip or "a relative path starts from the target file's folder"
        return [Problem(document.line((*where, field)), f"models.{where[1]}.{field}", error.message, tip)]
    return []


def _compose(spec: TargetSpec, document: YamlDocument, path: Path, env: Mapping[str, str]) -> StackSpec:
    try:
        return load_stack_spec(spec.compose_file, env)
    except BadInput as error:
        line = document.line(("compose_file",))
        raise FileProblems(path, [Problem(line, "compose_file", error.message, error.tip)]) from error


def _compose_problems(spec: TargetSpec, document: YamlDocument, compose: StackSpec) -> list[Problem]:
    known = list(compose.services)
    problems = [
        _unknown(document.line(("services", index)), f"services[{index}]", name, known, spec.compose_file)
        for index, name in enumerate(spec.services)
        if name not in compose.services
    ]
    for hop_name, hop in spec.hops.items():
        ends = [end.strip() for end in hop_name.split("->")]
        if hop.upstream is not None:
            ends.append(hop.upstream.rpartition(":")[0])
        for end in ends:
            if end not in compose.services:
                line = document.line(("hops", hop_name), of_key=True)
                problems.append(_unknown(line, f"hops.{hop_name}", end, known, spec.compose_file))
                break
    return problems


def _unknown(line: int, field: str, name: str, known: list[str], compose_file: Path) -> Problem:
    close = get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return Problem(line, field, f"'{name}' is not a service of {compose_file}", f"{hint}its services: {', '.join(known)}")

"""Request payloads: JSON lines `{"body": <any JSON>, "label": <int>}`, label optional.

A line without `body` is itself the body (minus `label`): the reference
stack's fixtures are written `{"features": [...], "label": 3}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BadInput
from harness.stack.spec import REPO_ROOT

DEFAULT_PAYLOADS = REPO_ROOT / "fixtures" / "requests" / "predict.jsonl"
_FORMAT = 'each line is a JSON object like {"body": {...}, "label": 3} (label optional, an integer class)'


@dataclass(frozen=True)
class Payload:
    content: bytes
    """The request body, serialized once."""
    label: int | None

    def body(self) -> Any:
        return json.loads(self.content)


def load_payloads(path: Path = DEFAULT_PAYLOADS) -> list[Payload]:
    """Every payload of the file; `BadInput` naming the line of the first bad one."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise BadInput(f"cannot read payload file {path}: {error.strerror}") from error  # the caller knows the path's origin
    payloads = [_payload(path, number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not payloads:
        raise BadInput(f"{path}: no payloads", _FORMAT)
    return payloads


def _payload(path: Path, number: int, line: str) -> Payload:
    try:
        row = json.loads(line)
    except ValueError as error:
        raise BadInput(f"{path}:{number}: not JSON ({error})", _FORMAT) from error
    if not isinstance(row, dict):
        raise BadInput(f"{path}:{number}: not a JSON object", _FORMAT)
    label = row.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
        raise BadInput(f"{path}:{number}: label {json.dumps(label)} is not an integer", _FORMAT)
    body = row["body"] if "body" in row else {key: value for key, value in row.items() if key != "label"}
    return Payload(json.dumps(body).encode(), label)

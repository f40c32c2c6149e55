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
        text = path.read_text()
    except OSError as error:
        raise BadInput(f"cannot read payload file {path}: {error.strerror}") from error  # the caller knows the path's origin
    return parse_payloads(text, str(path))


def parse_payloads(text: str, origin: str) -> list[Payload]:
    """The payloads of a payload file's `text` (a Locust worker gets it from its master); `origin` names it in errors."""
    payloads = [_payload(origin, number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not payloads:
        raise BadInput(f"{origin}: no payloads", _FORMAT)
    return payloads


def _payload(origin: str, number: int, line: str) -> Payload:
    try:
        row = json.loads(line)
    except ValueError as error:
        raise BadInput(f"{origin}:{number}: not JSON ({error})", _FORMAT) from error
    if not isinstance(row, dict):
        raise BadInput(f"{origin}:{number}: not a JSON object", _FORMAT)
    label = row.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
        raise BadInput(f"{origin}:{number}: label {json.dumps(label)} is not an integer", _FORMAT)
    body = row["body"] if "body" in row else {key: value for key, value in row.items() if key != "label"}
    return Payload(json.dumps(body).encode(), label)

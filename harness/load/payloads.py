"""Labeled request payloads (JSON lines: {"features": [...], "label": ...})."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BadInput
from harness.stack.spec import REPO_ROOT

DEFAULT_PAYLOADS = REPO_ROOT / "fixtures" / "requests" / "predict.jsonl"


@dataclass(frozen=True)
class Payload:
    features: tuple[float, ...]
    label: int | None

    def body(self) -> dict[str, list[float]]:
        return {"features": list(self.features)}


def load_payloads(path: Path = DEFAULT_PAYLOADS) -> list[Payload]:
    payloads = []
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise BadInput(f"cannot read payload file {path}: {error.strerror}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            payloads.append(Payload(tuple(float(x) for x in row["features"]), row.get("label")))
        except (ValueError, KeyError, TypeError) as error:
            raise BadInput(
                f"{path}:{number}: not a payload line ({error})",
                'each line must be a JSON object like {"features": [0.0, ...], "label": 3}',
            ) from error
    if not payloads:
        raise BadInput(f"{path}: no payloads", "add JSON lines with a 'features' list")
    return payloads

"""`result.json`: the run as CI and other tools read it, and read back by `failover report`.

Each fault object carries its window fields (`type`, `target`, `injected_at`,
`reverted_at`, ...) at its own level, and each SLO says `pass` rather than the
model's `passed`. A figure that was not measured is null, with the reason in the
fault's `not_measured` (and in its SLO's `not_measured`); `overlapping` names the
faults whose outage or losses could not be separated from this one's. The file's
JSON Schema is `schemas/result.schema.json` (`harness/report/schemas.py` writes it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.errors import BadInput
from harness.result import SCHEMA_VERSION, FaultWindow, RunResult, SLOResult

READABLE_VERSIONS = (2, 3, 4, SCHEMA_VERSION)
"""Versions `read_result` takes: version 3 only added fields that may be null (`environment`,
`load_ended_at`), so a version 2 file reads as a version 3 result without them."""
WINDOW_FIELDS = tuple(FaultWindow.model_fields)
"""The fault window's fields, flattened into each fault object."""


def result_document(result: RunResult) -> dict[str, Any]:
    """The `result.json` document for `result` (keys in the model's order)."""
    document = result.model_dump(mode="json")
    document["faults"] = [
        {
            **score.fault.model_dump(mode="json"),
            **score.model_dump(mode="json", exclude={"fault", "slos"}),
            "slos": [_slo(slo) for slo in score.slos],
        }
        for score in result.faults
    ]
    if result.unattributed_loss is not None:
        document["unattributed_loss"]["slo"] = _slo(result.unattributed_loss.slo)
    return document


def _slo(slo: SLOResult) -> dict[str, Any]:
    return {**slo.model_dump(mode="json", exclude={"passed"}), "pass": slo.passed}


def write_result(result: RunResult, out_dir: Path | str) -> Path:
    """Write `<out_dir>/result.json` and return its path."""
    path = Path(out_dir) / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result_document(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def result_from_document(document: dict[str, Any]) -> RunResult:
    """The `RunResult` a `result_document` was written from (the inverse of the flattening)."""
    model = dict(document)
    model["faults"] = [_fault(fault) for fault in document.get("faults", [])]
    loss = document.get("unattributed_loss")
    if isinstance(loss, dict):
        model["unattributed_loss"] = {**loss, "slo": _slo_model(loss.get("slo", {}))}
    return RunResult.model_validate(model)


def _fault(fault: dict[str, Any]) -> dict[str, Any]:
    score = {key: value for key, value in fault.items() if key not in WINDOW_FIELDS}
    score["fault"] = {key: fault[key] for key in WINDOW_FIELDS if key in fault}
    score["slos"] = [_slo_model(slo) for slo in fault.get("slos", [])]
    return score


def _slo_model(slo: dict[str, Any]) -> dict[str, Any]:
    model = {key: value for key, value in slo.items() if key != "pass"}
    return {**model, "passed": slo.get("pass")}


def read_result(path: Path) -> RunResult:
    """A stored `result.json` as a `RunResult`; `BadInput` naming the file and the fix when it is not
    readable or was written in another schema version."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        tip = "point at a run folder written by `failover run`"
        raise BadInput(f"{path}: cannot be read ({error})", tip) from error
    except json.JSONDecodeError as error:
        raise BadInput(
            f"{path}:{error.lineno}: not JSON ({error.msg})", "the file is damaged: copy it again from the run"
        ) from error
    version = document.get("schema_version") if isinstance(document, dict) else None
    if version not in READABLE_VERSIONS:
        *earlier, last = (str(v) for v in READABLE_VERSIONS)
        readable = f"{', '.join(earlier)} and {last}"
        raise BadInput(
            f"{path}: schema_version {version}, this harness reads versions {readable}",
            "re-run the scenario with this harness, or regenerate the reports with the harness version that "
            "wrote it (docs/machine-outputs.md lists what each version changed)",
        )
    try:
        return result_from_document({**document, "schema_version": SCHEMA_VERSION})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadInput(
            f"{path}: {where}: {first['msg']} ({error.error_count()} problem(s))",
            "the file does not follow schemas/result.schema.json: restore it from the run",
        ) from error

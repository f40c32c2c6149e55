"""`result.json`: the run as CI and other tools read it.

Each fault object carries its window fields (`type`, `target`, `injected_at`,
`reverted_at`, ...) at its own level, and each SLO says `pass` rather than the
model's `passed`. A figure that was not measured is null, with the reason in the
fault's `not_measured` (and in its SLO's `not_measured`); `overlapping` names the
faults whose outage or losses could not be separated from this one's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.result import RunResult, SLOResult


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

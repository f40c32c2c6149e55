"""`result.json`: the run as CI and other tools read it.

Each fault object carries its window fields (`type`, `target`, `injected_at`,
`reverted_at`, ...) at its own level, and each SLO says `pass` rather than the
model's `passed`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.result import RunResult


def result_document(result: RunResult) -> dict[str, Any]:
    """The `result.json` document for `result` (keys in the model's order)."""
    document = result.model_dump(mode="json")
    document["faults"] = [
        {
            **score.fault.model_dump(mode="json"),
            **score.model_dump(mode="json", exclude={"fault", "slos"}),
            "slos": [
                {**slo.model_dump(mode="json", exclude={"passed"}), "pass": slo.passed} for slo in score.slos
            ],
        }
        for score in result.faults
    ]
    return document


def write_result(result: RunResult, out_dir: Path | str) -> Path:
    """Write `<out_dir>/result.json` and return its path."""
    path = Path(out_dir) / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result_document(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path

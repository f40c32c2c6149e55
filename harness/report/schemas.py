"""The JSON Schemas of the machine outputs, generated from the models that write them.

`schemas/*.schema.json` in the repository are this module's output; a unit
test fails when one is stale. Regenerate after changing a model:

    PYTHONPATH=$PWD .venv/bin/python -m harness.report.schemas

(`--check` only says which are stale, exit 1). Each schema pins its
document's `schema_version` as a constant: a reader knows at once which
version it holds. Another document is one more `DocumentSchema` in `SCHEMAS`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.result import SCHEMA_VERSION as RESULT_VERSION
from harness.report.suite import SCHEMA_VERSION as INDEX_VERSION
from harness.report.suite import SuiteIndex
from harness.result import RunResult

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]


@dataclass(frozen=True)
class DocumentSchema:
    file: str
    """File name in `schemas/`."""
    model: type[BaseModel]
    version: int
    title: str
    as_written: Callable[[Schema], None] = lambda schema: None
    """Turns the model's schema into the written document's, in place, where the writer reshapes it."""

    def generate(self) -> Schema:
        schema = self.model.model_json_schema(mode="serialization")
        self.as_written(schema)
        version = schema["properties"]["schema_version"]
        schema["properties"]["schema_version"] = {"const": self.version, "description": version.get("description", "")}
        return {"$schema": DRAFT, "title": self.title, **{k: v for k, v in schema.items() if k != "title"}}


def _result_as_written(schema: Schema) -> None:
    """What `json_report.result_document` does: window fields flattened into each fault, `pass` for `passed`."""
    defs = schema["$defs"]
    window, score = defs.pop("FaultWindow"), defs["FaultScore"]
    score["properties"] = {
        **window["properties"],
        **{name: spec for name, spec in score["properties"].items() if name != "fault"},
    }
    score["required"] = [*window["required"], *(name for name in score["required"] if name != "fault")]
    score["description"] = "A fault as it happened (its window's fields first) and its scores."
    slo = defs["SLOResult"]
    slo["properties"] = {("pass" if name == "passed" else name): spec for name, spec in slo["properties"].items()}
    slo["required"] = ["pass" if name == "passed" else name for name in slo["required"]]


SCHEMAS = (
    DocumentSchema("result.schema.json", RunResult, RESULT_VERSION, "failover-harness result.json", _result_as_written),
    DocumentSchema("index.schema.json", SuiteIndex, INDEX_VERSION, "failover-harness index.json (a suite of runs)"),
)


def schema_text(document: DocumentSchema) -> str:
    return json.dumps(document.generate(), indent=2, ensure_ascii=False) + "\n"


def stale(folder: Path = SCHEMAS_DIR) -> list[str]:
    """The schema files in `folder` that are missing or differ from what the models generate."""
    return [
        doc.file
        for doc in SCHEMAS
        if not (folder / doc.file).exists() or (folder / doc.file).read_text(encoding="utf-8") != schema_text(doc)
    ]


def write_schemas(folder: Path = SCHEMAS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / doc.file for doc in SCHEMAS]
    for doc, path in zip(SCHEMAS, paths, strict=True):
        path.write_text(schema_text(doc), encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.schemas", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say which schemas are stale (exit 1 if any)")
    parser.add_argument("--dir", type=Path, default=SCHEMAS_DIR, help="where the schemas live (default: schemas/)")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale(args.dir)
        for name in outdated:
            print(f"{args.dir / name} is stale: run python -m harness.report.schemas", file=sys.stderr)
        return 1 if outdated else 0
    for path in write_schemas(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

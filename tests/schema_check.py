"""Validation of the machine outputs against the committed JSON Schemas (`schemas/`), for the tests.

`result_json_follows_its_schema` and `index_json_follows_its_schema` are autouse fixtures (imported by
the unit and integration conftests): every result.json and index.json written in the test process is
validated as it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness.report import json_report, suite
from harness.report.schemas import SCHEMAS_DIR
from harness.result import RunResult


@cache
def validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / schema_file).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(document: Any, schema_file: str = "result.schema.json") -> list[str]:
    """Every way `document` breaks the schema, as 'path: message' lines (empty: valid)."""
    errors = validator(schema_file).iter_errors(document)
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}" for error in errors]


@pytest.fixture(autouse=True)
def result_json_follows_its_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    document_of = json_report.result_document

    def validated(result: RunResult) -> dict[str, Any]:
        document = document_of(result)
        errors = schema_errors(json.loads(json.dumps(document)))
        assert not errors, f"result.json of {result.scenario} breaks schemas/result.schema.json: {errors[:5]}"
        return document

    monkeypatch.setattr(json_report, "result_document", validated)
    yield


@pytest.fixture(autouse=True)
def index_json_follows_its_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    index_of = suite.suite_index

    def validated(*args: Any, **kwargs: Any) -> suite.SuiteIndex:
        document = index_of(*args, **kwargs)
        errors = schema_errors(document.model_dump(mode="json"), "index.schema.json")
        assert not errors, f"index.json breaks schemas/index.schema.json: {errors[:5]}"
        return document

    monkeypatch.setattr(suite, "suite_index", validated)
    yield

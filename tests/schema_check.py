"""Validation of the machine outputs against the committed JSON Schemas (`schemas/`), for the tests."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from harness.report.schemas import SCHEMAS_DIR


@cache
def validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / schema_file).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(document: Any, schema_file: str = "result.schema.json") -> list[str]:
    """Every way `document` breaks the schema, as 'path: message' lines (empty: valid)."""
    errors = validator(schema_file).iter_errors(document)
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}" for error in errors]

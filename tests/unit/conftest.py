"""Every result.json a unit test writes is validated against schemas/result.schema.json."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.report import json_report
from harness.result import RunResult
from tests.schema_check import schema_errors


@pytest.fixture(autouse=True)
def _result_json_follows_its_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    document_of = json_report.result_document

    def validated(result: RunResult) -> dict[str, Any]:
        document = document_of(result)
        errors = schema_errors(document)
        assert not errors, f"result.json of {result.scenario} breaks schemas/result.schema.json: {errors[:5]}"
        return document

    monkeypatch.setattr(json_report, "result_document", validated)
    yield

"""The entry point: what counts as an answer, and what the stack said about itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.load.entry import EntryPoint
from harness.load.payloads import load_payloads


def _entry(**fields: object) -> EntryPoint:
    return EntryPoint(url="http://127.0.0.1:8088/v1/score?x=1", payloads=Path("p.jsonl"), **fields)  # type: ignore[arg-type]


def test_url_splits_into_the_connection_and_the_request_path() -> None:
    entry = _entry()
    assert (entry.base_url, entry.path) == ("http://127.0.0.1:8088", "/v1/score?x=1")
    assert EntryPoint.from_json(entry.to_json()) == entry


def test_a_2xx_is_an_answer_only_with_the_declared_prediction() -> None:
    entry = _entry(prediction="result.score")
    assert entry.answer(200, b'{"result": {"score": 3}}') == (True, 3, "")
    assert entry.answer(200, b'{"result": {"score": "cat"}}') == (True, None, "")  # present, not a class index
    ok, _, error = entry.answer(200, b'{"score": 3}')
    assert not ok and "result.score" in error
    assert entry.answer(503, b"busy") == (False, None, "busy")
    assert _entry().answer(204, b"") == (True, None, "")  # nothing declared: any 2xx answers


def test_identity_reads_only_the_declared_headers() -> None:
    entry = _entry(served_by_header="X-Upstream", degraded_header="X-Degraded")
    headers = {"X-Upstream": "app-2", "X-Degraded": "True", "X-Model-Version": "v9", "X-Request-Id": "abc"}
    assert entry.identity(headers, "mine") == ("app-2", "", True, "abc")
    assert _entry().identity({}, "mine") == ("", "", False, "mine")


def test_payloads_take_a_body_or_are_the_body(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"body": {"inputs": [1, 2]}, "label": 2}\n\n{"features": [0.5], "label": 1}\n{"body": [1]}\n')
    payloads = load_payloads(path)
    assert [json.loads(p.content) for p in payloads] == [{"inputs": [1, 2]}, {"features": [0.5]}, [1]]
    assert [p.label for p in payloads] == [2, 1, None]


@pytest.mark.parametrize("line", ['{"body": {}, "label": 3.5}', '{"body": {}, "label": "3"}', '{"body": {}, "label": true}'])
def test_a_label_that_is_not_an_integer_is_refused_with_its_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"body": {}, "label": 1}\n' + line + "\n")
    with pytest.raises(BadInput, match=r"p\.jsonl:2: label .* is not an integer"):
        load_payloads(path)

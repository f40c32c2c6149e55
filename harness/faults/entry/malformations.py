"""Malformed versions of a well-formed request body: how a client's feature schema drifts.

Each kind turns one valid JSON body (a payload of the target) into the bytes a
drifted client would send. They are derived from the body's own shape, so the
same kinds apply to any JSON entry point, not only the reference stack's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

Malformation = Literal[
    "missing_field", "renamed_field", "wrong_type", "short_list", "long_list", "nan", "not_json", "empty"
]
KINDS: tuple[Malformation, ...] = (
    "missing_field", "renamed_field", "wrong_type", "short_list", "long_list", "nan", "not_json", "empty"
)


def malformed(body: Any, kind: Malformation) -> bytes:
    """`body` (a decoded valid request) made malformed the way `kind` says."""
    return _MAKERS[kind](body)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _first_key(body: Any) -> str | None:
    return next(iter(body), None) if isinstance(body, dict) else None


def _first_list(body: Any) -> str | None:
    if isinstance(body, dict):
        return next((key for key, value in body.items() if isinstance(value, list) and value), None)
    return None


def _missing_field(body: Any) -> bytes:
    key = _first_key(body)
    return _dumps({k: v for k, v in body.items() if k != key}) if key else b"{}"


def _renamed_field(body: Any) -> bytes:
    key = _first_key(body)
    return _dumps({(f"{k}_v2" if k == key else k): v for k, v in body.items()}) if key else b'{"x_v2": 1}'


def _wrong_type(body: Any) -> bytes:
    key = _first_key(body)
    return _dumps({**body, key: "not a number"}) if key else _dumps("not a number")


def _resized(body: Any, change: Callable[[list[Any]], list[Any]]) -> bytes:
    key = _first_list(body)
    return _dumps({**body, key: change(body[key])}) if key else _dumps([])


def _short_list(body: Any) -> bytes:
    return _resized(body, lambda values: values[: len(values) // 2])


def _long_list(body: Any) -> bytes:
    return _resized(body, lambda values: values + values[:1])


def _nan(body: Any) -> bytes:
    return _resized(body, lambda values: [float("nan"), *values[1:]])


_MAKERS: dict[Malformation, Callable[[Any], bytes]] = {
    "missing_field": _missing_field,
    "renamed_field": _renamed_field,
    "wrong_type": _wrong_type,
    "short_list": _short_list,
    "long_list": _long_list,
    "nan": _nan,
    "not_json": lambda body: b'{"features": [1, 2,',
    "empty": lambda body: b"",
}

"""What load and probes call: the target's entry point and how to read its answers.

One `EntryPoint` serves the probe stream and Locust alike (it crosses into
their processes as JSON): the URL and method, the payload file, the header
the harness puts a fresh request id in, and where the answer says which
replica and model version served it and the prediction. A header or path the
target does not declare is left empty in the records ("not measured").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

TRUTHY = frozenset({"true", "1", "yes"})


@dataclass(frozen=True)
class EntryPoint:
    url: str
    payloads: Path
    method: str = "POST"
    prediction: str | None = None
    """Dotted path of the prediction in the response JSON."""
    request_id_header: str = "X-Request-Id"
    served_by_header: str | None = None
    model_version_header: str | None = None
    degraded_header: str | None = None

    @property
    def base_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "payloads": str(self.payloads)})

    @classmethod
    def from_json(cls, text: str) -> EntryPoint:
        fields = json.loads(text)
        return cls(**{**fields, "payloads": Path(fields["payloads"])})

    def answer(self, status: int, content: bytes) -> tuple[bool, int | None, str]:
        """(ok, prediction, error) of a response: ok is 2xx with the prediction present where one is declared.

        The prediction is kept when it is an integer (a class), the kind labels are compared with."""
        if not 200 <= status < 300:
            return False, None, (content or b"").decode("utf-8", "replace")[:200] or f"HTTP {status}"
        if self.prediction is None:
            return True, None, ""
        found, value = _dig(content, self.prediction)
        if not found:
            return False, None, f"no '{self.prediction}' in the response"
        integer = value if isinstance(value, int) and not isinstance(value, bool) else None
        return True, integer, ""

    def identity(self, headers: Mapping[str, str], request_id: str) -> tuple[str, str, bool, str]:
        """(served_by, model_version, degraded, request_id) from the response headers."""
        def header(name: str | None) -> str:
            return (headers.get(name) or "") if name else ""

        return (
            header(self.served_by_header),
            header(self.model_version_header),
            header(self.degraded_header).lower() in TRUTHY,
            header(self.request_id_header) or request_id,
        )


def _dig(content: bytes, path: str) -> tuple[bool, Any]:
    try:
        value: Any = orjson.loads(content)
    except ValueError:
        return False, None
    for key in path.split("."):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return False, None
    return True, value

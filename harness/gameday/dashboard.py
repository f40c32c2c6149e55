"""The live dashboard: one page (inline CSS and JS, nothing from a CDN) fed by server-sent events.

Every viewer gets its own event stream of `Feed.latest()` twice a second, so
any number can watch; the buttons POST to the control channel with the
page's token (confirm a gate, add a note, pause or resume, abort).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STREAM_EVERY_S = 0.5
PAGE = Path(__file__).parent / "dashboard.html"


def page(token: str) -> str:
    """The page, with the token its buttons send."""
    return PAGE.read_text(encoding="utf-8").replace("__TOKEN__", json.dumps(token))


def event_stream(latest: Callable[[], dict[str, Any]], running: Callable[[], bool]) -> Iterator[str]:
    """`data:` events of the newest snapshot until the run stops observing; then one `end` event."""
    while running():
        yield f"data: {json.dumps(latest(), default=str)}\n\n"
        time.sleep(STREAM_EVERY_S)
    yield f"event: end\ndata: {json.dumps(latest(), default=str)}\n\n"

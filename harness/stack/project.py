"""Project names: one rule for both backends.

A project names Compose's containers, networks and volumes, and on the local
backend a folder under the state directory, so it must be a plain name:
Compose's own rule, which leaves no room for '/' or '..'.
"""

from __future__ import annotations

import re

from harness.errors import BadInput

_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def check_project_name(name: str) -> str:
    """`name` if it is a valid project name, else `BadInput` saying what one looks like."""
    if not _PROJECT_NAME.fullmatch(name):
        raise BadInput(
            f"invalid project name '{name}' (from --project or FAILOVER_PROJECT)",
            "use lowercase letters, digits, '-' and '_', starting with a letter or digit, e.g. 'failover'",
        )
    return name

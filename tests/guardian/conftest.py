"""The guardian runs from its own folder (compose/guardian); make it importable for its tests."""

from __future__ import annotations

import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "compose" / "guardian"))

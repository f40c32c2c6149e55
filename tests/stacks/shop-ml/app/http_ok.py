"""Healthcheck: exit 0 when the URL answers 2xx within a second."""

import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=1) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except Exception as error:  # noqa: BLE001 (any failure is "unhealthy")
    sys.exit(f"unhealthy: {error}")

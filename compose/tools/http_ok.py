"""Healthcheck probe: exit 0 when URL answers 2xx within the timeout, else 1.

Used by every HTTP service's healthcheck, in containers and (through the local
backend) on the host, so it needs nothing beyond the standard library.
"""
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]) if len(sys.argv) > 2 else 1.5) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except Exception as error:  # any failure is simply "unhealthy"
    print(f"unhealthy: {error}", file=sys.stderr)
    sys.exit(1)

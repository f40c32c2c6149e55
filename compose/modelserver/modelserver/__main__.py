"""Entry point: `python -m modelserver`, configured by environment variables."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from .app import create_app
from .config import ConfigError, Settings
from .wire import OneWritePerResponse

KEEP_ALIVE_SECONDS = 5
GRACEFUL_SHUTDOWN_SECONDS = 3
"""A stop waits this long for requests in flight, then exits: well inside Docker's 10 s before SIGKILL,
so a stopped server always reads "stopped" (exit 143), never "exited" (137) as if it had crashed."""


def main() -> None:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"modelserver: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s {settings.server_name} %(name)s: %(message)s",
    )
    uvicorn.run(
        create_app(settings),
        host=settings.listen.host,
        port=settings.listen.port,
        workers=1,
        http=OneWritePerResponse,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_config=None,
    )


if __name__ == "__main__":
    main()

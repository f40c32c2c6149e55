"""Start a Redis Sentinel that monitors the prediction store's primary.

Sentinel insists on a writable config file that it rewrites at run time, so
this writes one into the working directory and then execs `redis-sentinel`.
Hostnames are announced and resolved (not IPs), so what a Sentinel reports
matches the stack's declared addresses on both backends.
"""
import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--announce", required=True, help="hostname other Sentinels reach this one by")
    parser.add_argument("--primary", required=True, help="host:port of the initial primary")
    parser.add_argument("--master-name", default="predictions")
    parser.add_argument("--quorum", type=int, default=2)
    # The compose file sets these two from the stack's profile (harness/stack/profiles.py).
    parser.add_argument("--down-after-ms", type=int, default=int(os.environ.get("DOWN_AFTER_MS", "1000")))
    parser.add_argument("--failover-timeout-ms", type=int, default=int(os.environ.get("FAILOVER_TIMEOUT_MS", "5000")))
    args = parser.parse_args()
    host, port = args.primary.rsplit(":", 1)
    name = args.master_name
    config = Path.cwd() / f"sentinel-{args.port}.conf"
    config.write_text(
        "\n".join(
            [
                f"port {args.port}",
                f"bind {args.bind}",
                "protected-mode no",
                "sentinel resolve-hostnames yes",
                "sentinel announce-hostnames yes",
                f"sentinel announce-ip {args.announce}",
                f"sentinel announce-port {args.port}",
                f"sentinel monitor {name} {host} {port} {args.quorum}",
                f"sentinel down-after-milliseconds {name} {args.down_after_ms}",
                f"sentinel failover-timeout {name} {args.failover_timeout_ms}",
                f"sentinel parallel-syncs {name} 1",
                "",
            ]
        )
    )
    os.execvp("redis-sentinel", ["redis-sentinel", str(config)])


if __name__ == "__main__":
    main()

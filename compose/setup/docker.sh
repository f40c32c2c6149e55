#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io and
# docker-compose when missing (root), starts dockerd when it is not running,
# and waits for it. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if docker info >/dev/null 2>&1; then
  exit 0
fi
bash "$here/system-deps.sh" --docker
if [ "$(id -u)" != 0 ]; then
  echo "ERROR: the Docker engine is not running and starting it needs root." >&2
  echo "TIP: sudo dockerd & (or systemctl start docker), then re-run" >&2
  exit 2
fi
echo "starting dockerd (log: /var/log/dockerd-failover.log)"
# dockerd must not inherit the caller's open files: a lock held by a caller
# (flock /tmp/failover-stack.lock ...) would stay held for as long as dockerd runs.
(
  for fd in /proc/self/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  exec nohup dockerd >/var/log/dockerd-failover.log 2>&1 </dev/null
) &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
tail -20 /var/log/dockerd-failover.log >&2
echo "ERROR: dockerd did not become ready in 30 s (log above)" >&2
exit 2

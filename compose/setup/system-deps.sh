#!/usr/bin/env bash
# Installs the Debian packages the stack runs on the host (local backend) and,
# with --docker, the Docker engine and Compose for the compose backend.
# Idempotent: installs only what is missing. Needs root for apt-get.
set -euo pipefail

packages=(haproxy redis-server redis-sentinel redis-tools chromium)
commands=(haproxy redis-server redis-sentinel redis-cli chromium)  # chromium: the game-day dashboard's browser test
if [ "${1:-}" = "--docker" ]; then
  packages+=(docker.io docker-compose debootstrap iptables)
  commands+=(dockerd docker-compose debootstrap iptables)
fi

missing=()
for i in "${!commands[@]}"; do
  command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "ERROR: missing Debian packages: ${missing[*]}" >&2
  echo "TIP: sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the servers as system services where it can; the stack runs
# its own, so stop any that came up to keep their ports free.
for service in redis-server redis-sentinel haproxy; do
  if command -v service >/dev/null; then service "$service" stop >/dev/null 2>&1 || true; fi
done

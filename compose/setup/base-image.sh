#!/usr/bin/env bash
# Builds the stack's base image offline: a debootstrap of Debian bookworm with
# python3 and the Debian servers the stacks run (HAProxy, Redis; nginx and
# PostgreSQL for the second stack in tests/stacks/), imported with
# `docker import`. No container registry is needed. Cached: does nothing when
# the image already exists. On a machine with a registry, skip this and build
# the stack with BASE_IMAGE=python:3.11-slim instead.
set -euo pipefail

image="${FAILOVER_BASE_IMAGE:-failover-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages="python3,python3-venv,haproxy,redis-server,redis-sentinel,redis-tools,procps,iproute2,nginx-light,postgresql"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image: cached"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "ERROR: debootstrap is missing. TIP: apt-get install -y debootstrap (as root)" >&2
  exit 2
}

rootfs=$(mktemp -d /var/tmp/failover-rootfs.XXXXXX)
trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
start=$(date +%s)
echo "building base image $image from $mirror (a few minutes, once)"
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2
  echo "ERROR: debootstrap failed (log above). TIP: check that $mirror is reachable" >&2
  exit 2
}
# Keep the image small and free of the build host's apt state.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  - "$image" >/dev/null
echo "base image $image built in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# Downloads the wheels the stack image installs offline, for CPython 3.11 on
# x86_64 Linux, into compose/image/.build/wheels, and stages the Toxiproxy
# binary next to them. Cached by the requirements file's hash.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/image/.build"
requirements="$here/image/requirements.txt"
stamp="$build/wheels/.requirements.sha256"
mkdir -p "$build/wheels" "$build/bin"

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "downloading stack wheels"
  rm -f "$build"/wheels/*.whl
  "${PYTHON:-python3}" -m pip download --quiet --dest "$build/wheels" \
    --only-binary=:all: --implementation cp --python-version 3.11 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -r "$requirements"
  echo "$want" >"$stamp"
fi
cp -u "${TOXIPROXY_SERVER:?path to toxiproxy-server}" "$build/bin/toxiproxy-server"

#!/usr/bin/env bash
# Downloads the wheels the image installs offline (CPython 3.11, x86_64 Linux)
# into .build/wheels. Run it before `docker-compose up --build`; it does
# nothing when requirements.txt has not changed since the last download.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wheels="$here/.build/wheels"
stamp="$wheels/.requirements.sha256"
mkdir -p "$wheels"

want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "downloading wheels into $wheels"
rm -f "$wheels"/*.whl
"${PYTHON:-python3}" -m pip download --quiet --dest "$wheels" \
  --only-binary=:all: --implementation cp --python-version 3.11 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  -r "$here/requirements.txt"
echo "$want" >"$stamp"

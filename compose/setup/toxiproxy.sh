#!/usr/bin/env bash
# Installs the Toxiproxy server (pinned) into .tools/bin with `go install`.
# Cached by a version stamp (the binary itself reports its version as "git").
set -euo pipefail
version=v2.12.0
bin_dir="${1:-$(pwd)/.tools/bin}"
target="$bin_dir/toxiproxy-server"
stamp="$target.version"
if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v go >/dev/null || {
  echo "ERROR: Go is needed to install the Toxiproxy server." >&2
  echo "TIP: apt-get install -y golang-go (or https://go.dev/doc/install), then re-run" >&2
  exit 2
}
mkdir -p "$bin_dir"
echo "installing toxiproxy-server $version with go install"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" CGO_ENABLED=0 go install "github.com/Shopify/toxiproxy/v2/cmd/server@$version"
mv "$tmp/server" "$target"
echo "$version" >"$stamp"

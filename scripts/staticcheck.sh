#!/bin/sh
# Runs staticcheck on the module, installing the pinned version into $(go env GOPATH)/bin
# first when that binary is missing or another version. The pin keeps `make test` from
# changing its verdict when a new release adds checks; raise it on purpose.
#
# Usage: scripts/staticcheck.sh [packages...]   (default ./...)
# Exits with staticcheck's status: non-zero when it reports anything.
set -eu

version=v0.8.2
go=${GO:-go}

cd "$(dirname "$0")/.."
bin="$($go env GOPATH)/bin/staticcheck"

# `staticcheck -version` prints e.g. "staticcheck 2026.2.2 (0.8.2)".
if ! "$bin" -version 2>/dev/null | grep -q "(${version#v})"; then
	echo "installing staticcheck $version into $(dirname "$bin")" >&2
	GOBIN="$(dirname "$bin")" "$go" install "honnef.co/go/tools/cmd/staticcheck@$version"
fi

if [ "$#" -eq 0 ]; then
	set -- ./...
fi
exec "$bin" "$@"

#!/usr/bin/env bash
# Fetches the pinned PyMongo source release into .cache/, checks it against
# the recorded sha256 and extracts it afresh (callers copy files into it).
# The one copy of the pin, shared by pymongo/run.sh (PyMongo's runner) and
# unified/run.sh (our Rust runner reads the spec JSON from its test/ dir).
#
# Source it; it sets PYMONGO_VERSION, PYMONGO_SHA256 and PYMONGO_SRC:
#   source scripts/pymongo/fetch.sh
set -euo pipefail

PYMONGO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYMONGO_CACHE="$PYMONGO_ROOT/.cache"
PYMONGO_VERSION="4.20.0"
PYMONGO_SHA256="f773b0aec28687587cdeda490463a82debc4566a4a3620dcc8dada9d2c0a1acd"

mkdir -p "$PYMONGO_CACHE"
PYMONGO_TARBALL="$PYMONGO_CACHE/pymongo-$PYMONGO_VERSION.tar.gz"
PYMONGO_SRC="$PYMONGO_CACHE/pymongo-$PYMONGO_VERSION"

echo "== pymongo: fetch source $PYMONGO_VERSION"
if [[ ! -f "$PYMONGO_TARBALL" ]] || ! echo "$PYMONGO_SHA256  $PYMONGO_TARBALL" | sha256sum --check --status; then
  rm -f "$PYMONGO_TARBALL"
  "${PYTHON:-python3}" -m pip download --quiet --no-binary :all: --no-deps "pymongo==$PYMONGO_VERSION" -d "$PYMONGO_CACHE"
fi
echo "$PYMONGO_SHA256  $PYMONGO_TARBALL" | sha256sum --check --quiet
rm -rf "$PYMONGO_SRC"
tar -xzf "$PYMONGO_TARBALL" -C "$PYMONGO_CACHE"

#!/usr/bin/env bash
# The Node.js MongoDB driver (pinned in package-lock.json) runs the seed's
# transactions against a `rotor serve` this script starts and stops.
# Uses the machine's Node.js (>= 16.20) and npm, or Debian's if there are
# none; installs the driver into .cache/node.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/node"
WORK="$ROOT/.cache/node"

echo "== node: install the pinned driver"
source "$ROOT/scripts/lib/node.sh"
npm_install_pinned node "$HERE" "$WORK" "$HERE/seed.test.mjs"

echo "== node: build rotor"
cargo build --release --quiet -p rotor-server
ROTOR="$ROOT/target/release/rotor"
source "$ROOT/scripts/lib/serve.sh"
start_rotor "$WORK/rotor.log"

echo "== node: the seed's transactions against rotor serve at $ROTOR_ADDRESS"
ROTOR_URI="mongodb://$ROTOR_ADDRESS/?replicaSet=rs0" node --test "$WORK/seed.test.mjs"

#!/usr/bin/env bash
# MongoDB's shell, mongosh (pinned in package-lock.json), runs seed.js
# against a `rotor serve` this script starts and stops: the seed's
# transactions (withTransaction, manual commit, abort, a WriteConflict
# between two sessions) and the helpers people type at the prompt
# (db.version(), rs.status(), show dbs, createIndex, db.stats(), ...).
# seed.js throws on any failed check, and mongosh then exits non-zero.
# README.md lists what mongosh sends at startup and which helpers work.
#
# Uses the machine's Node.js (>= 20) and npm, or Debian's if there are
# none; installs mongosh into .cache/mongosh without running install
# scripts: those only build optional native add-ons (Kerberos, client-side
# encryption, OS DNS, ssh) that a plain mongodb:// connection never loads.
# mongosh's own log and history go to .cache/mongosh/home, not ~/.mongodb.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/mongosh"
WORK="$ROOT/.cache/mongosh"

echo "== mongosh: install the pinned shell"
source "$ROOT/scripts/lib/node.sh"
# A clean install is ~150 MB and half a minute; npm_install_pinned skips
# it while the installed tree still comes from this exact lockfile.
npm_install_pinned mongosh "$HERE" "$WORK" "$HERE/seed.js"
mkdir -p "$WORK/home"

echo "== mongosh: build rotor"
cargo build --release --quiet -p rotor-server
ROTOR="$ROOT/target/release/rotor"
source "$ROOT/scripts/lib/serve.sh"
start_rotor "$WORK/rotor.log"

echo "== mongosh: the seed's transactions and shell helpers against rotor serve at $ROTOR_ADDRESS"
# No telemetry: the machine running the tests may have no internet.
HOME="$WORK/home" MONGOSH_FORCE_DISABLE_TELEMETRY_FOR_TESTING=1 \
  "$WORK/node_modules/.bin/mongosh" "mongodb://$ROTOR_ADDRESS/?replicaSet=rs0&serverSelectionTimeoutMS=10000" \
  --quiet --file "$WORK/seed.js"

#!/usr/bin/env bash
# Runs our Rust unified-format runner (crates/unified, `rotor-unified`) on
# the spec suites of the pinned PyMongo source release, twice: against the
# embedded Rust client, and over TCP against a `rotor serve` it starts and
# stops itself. Compares each outcome with expected-failures.txt.
# Fails only on unexpected failures; listed tests that pass are reported so
# the list can shrink.
#
#   bash scripts/unified/run.sh               # the suites below
#   bash scripts/unified/run.sh --suite sessions   # other runner arguments
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/unified"

# Fetch, verify and extract the pinned source (sets PYMONGO_SRC).
source "$ROOT/scripts/pymongo/fetch.sh"

echo "== unified: build rotor-unified"
cargo build --release --quiet -p rotor-unified -p rotor-server

ARGS=("$@")
if [[ ${#ARGS[@]} -eq 0 ]]; then
  ARGS=(
    --suite transactions/unified
    --suite transactions-convenient-api/unified
    --suite sessions
    --suite crud/unified
  )
fi

RUNNER=("$ROOT/target/release/rotor-unified" --spec-dir "$PYMONGO_SRC/test"
  --expected-failures "$HERE/expected-failures.txt")

echo "== unified: spec suites against the embedded client"
"${RUNNER[@]}" "${ARGS[@]}"

echo "== unified: spec suites over TCP against rotor serve"
LOG="$(mktemp)"
"$ROOT/target/release/rotor" serve --in-memory --bind 127.0.0.1 --port 0 \
  --enable-test-commands --log-level info >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG"' EXIT
ADDRESS=""
for _ in $(seq 600); do
  ADDRESS="$(sed -n 's/.*rotor ready for connections on //p' "$LOG" | tr -d '[:space:]')"
  [[ -n "$ADDRESS" ]] && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; echo "rotor exited before it was ready" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$ADDRESS" ]] || { cat "$LOG"; echo "rotor not ready" >&2; exit 1; }
"${RUNNER[@]}" --uri "mongodb://$ADDRESS/?replicaSet=rs0" "${ARGS[@]}"

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
    --suite retryable_writes/unified
    --suite causal_consistency
    --suite read_write_concern/operation
    --suite retryable_reads/unified
  )
fi

RUNNER=("$ROOT/target/release/rotor-unified" --spec-dir "$PYMONGO_SRC/test"
  --expected-failures "$HERE/expected-failures.txt")

echo "== unified: spec suites against the embedded client"
"${RUNNER[@]}" "${ARGS[@]}"

echo "== unified: spec suites over TCP against rotor serve"
ROTOR="$ROOT/target/release/rotor"
source "$ROOT/scripts/lib/serve.sh"
start_rotor "$ROOT/.cache/rotor-unified.log" --enable-test-commands
"${RUNNER[@]}" --uri "mongodb://$ROTOR_ADDRESS/?replicaSet=rs0" "${ARGS[@]}"

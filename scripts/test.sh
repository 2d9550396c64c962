#!/usr/bin/env bash
# The full test suite, runnable on a fresh machine: installs what it needs,
# checks formatting and lints, runs every Rust test, then the conformance
# suites against a server it starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
# Built first, then run under a time limit: the whole run takes minutes,
# so a test that hangs (a lost wakeup) fails here with a clear message
# instead of using up CI's budget. Tests past 60 s are named by libtest.
cargo test --workspace --no-run
CARGO_TEST_LIMIT=${CARGO_TEST_LIMIT:-20m}
status=0
timeout --kill-after=30s "$CARGO_TEST_LIMIT" cargo test --workspace || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "cargo test ran past $CARGO_TEST_LIMIT: a test hangs (see 'has been running for over 60 seconds' above)" >&2
fi
if [ "$status" -ne 0 ]; then
    exit "$status"
fi

echo "== Unified spec suites: our Rust runner, embedded and over TCP against rotor serve"
bash scripts/unified/run.sh

echo "== PyMongo conformance: PyMongo's unified spec runner against rotor serve"
bash scripts/pymongo/run.sh

echo "== Node.js driver: the seed's transactions against rotor serve"
bash scripts/node/run.sh

echo "== mongosh: the seed's transactions and shell helpers against rotor serve"
bash scripts/mongosh/run.sh

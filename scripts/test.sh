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
cargo test --workspace

echo "== Unified spec suites: our Rust runner, embedded and over TCP against rotor serve"
bash scripts/unified/run.sh

echo "== PyMongo conformance: PyMongo's unified spec runner against rotor serve"
bash scripts/pymongo/run.sh

echo "== Node.js driver: the seed's transactions against rotor serve"
bash scripts/node/run.sh

echo "== mongosh: the seed's transactions and shell helpers against rotor serve"
bash scripts/mongosh/run.sh

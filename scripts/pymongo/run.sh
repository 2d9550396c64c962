#!/usr/bin/env bash
# Runs PyMongo's own unified-format spec runner against `rotor serve`.
#
# On a fresh machine with no services: downloads the pinned PyMongo source
# release (checked against a recorded sha256), builds a venv with PyMongo
# and its test dependencies, builds rotor in release mode, starts it on a
# port the kernel picks (scripts/lib/serve.sh), runs a smoke test, a TLS test (against a second server with
# openssl-made test certificates), the SCRAM checks of auth_test.py against a
# server started with --auth and again against one with --auth and TLS, and
# the spec suites in suites/ (transactions, convenient API, sessions,
# CRUD, retryable writes and reads, causal consistency, read/write concern
# and runCommand), and compares the outcome with expected-failures.txt. Fails only on unexpected failures. The server is
# stopped whatever happens.
#
#   bash scripts/pymongo/run.sh                    # check
#   bash scripts/pymongo/run.sh --update-expected  # regenerate the list
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/pymongo"
CACHE="$ROOT/.cache"

# PyMongo's requirements.txt and requirements/test.txt, pinned; plus a per-test timeout.
TEST_REQUIREMENTS=(
  "dnspython==2.9.2"
  "pytest==9.2.0"
  "pytest-asyncio==1.5.0"
  "pytest-timeout==2.4.0"
)
# Motor, for the end-to-end test of the seed's examples; installed without
# dependencies so that it runs on the PyMongo built from the pinned source.
MOTOR="motor==3.7.1"
# A test still running after this long is failed, so one hang cannot eat the CI budget.
TEST_TIMEOUT_SECS=60

UPDATE_EXPECTED=0
case "${1:-}" in
  --update-expected) UPDATE_EXPECTED=1 ;;
  "") ;;
  *) echo "usage: $0 [--update-expected]" >&2; exit 2 ;;
esac

# Fetch, verify and extract the pinned source (sets PYMONGO_SRC, PYMONGO_SHA256).
source "$HERE/fetch.sh"
SRC="$PYMONGO_SRC"
VENV="$CACHE/venv"
PYTHON="${PYTHON:-python3}"

echo "== pymongo: venv"
STAMP="$VENV/.rotor-stamp"
WANT_STAMP="$PYMONGO_SHA256 ${TEST_REQUIREMENTS[*]} $MOTOR"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$WANT_STAMP" ]]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "${TEST_REQUIREMENTS[@]}" "$SRC"
  "$VENV/bin/python" -m pip install --quiet --no-deps "$MOTOR"
  echo "$WANT_STAMP" >"$STAMP"
fi

echo "== pymongo: build rotor"
cargo build --release --quiet -p rotor-server
ROTOR="$ROOT/target/release/rotor"

source "$ROOT/scripts/lib/serve.sh"

LOG="$CACHE/rotor-pymongo.log"
start_rotor "$LOG" --enable-test-commands
PORT="${ROTOR_ADDRESS##*:}"
echo "rotor is serving on 127.0.0.1:$PORT (log: $LOG)"

echo "== pymongo: smoke test"
ROTOR_HOST=127.0.0.1 ROTOR_PORT="$PORT" "$VENV/bin/python" -m pytest -q -p no:cacheprovider -p no:asyncio \
  --rootdir "$HERE" -c /dev/null "$HERE/test_smoke.py"

echo "== pymongo: TLS"
# make_test_certs DIR: a throwaway CA, and a server (localhost, 127.0.0.1)
# and a client certificate signed by it; the client's key and certificate
# share one file, as PyMongo's tlsCertificateKeyFile wants.
make_test_certs() {
  local dir="$1"
  rm -rf "$dir" && mkdir -p "$dir"
  local new=(req -x509 -batch -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2)
  local signed=(-CA "$dir/ca.pem" -CAkey "$dir/ca.key" -addext basicConstraints=critical,CA:FALSE)
  openssl "${new[@]}" -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj /CN=rotor-test-ca 2>/dev/null
  openssl "${new[@]}" -keyout "$dir/server.key" -out "$dir/server.pem" -subj /CN=localhost "${signed[@]}" \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext extendedKeyUsage=serverAuth 2>/dev/null
  openssl "${new[@]}" -keyout "$dir/client.key" -out "$dir/client.pem" -subj /CN=rotor-test-client "${signed[@]}" \
    -addext extendedKeyUsage=clientAuth 2>/dev/null
  cat "$dir/client.pem" "$dir/client.key" >"$dir/client-combined.pem"
}
TLS_DIR="$CACHE/tls"
make_test_certs "$TLS_DIR"
start_rotor "$CACHE/rotor-pymongo-tls.log" \
  --tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key" --tls-ca "$TLS_DIR/ca.pem"
TLS_PORT="${ROTOR_ADDRESS##*:}"
ROTOR_HOST=127.0.0.1 ROTOR_TLS_PORT="$TLS_PORT" ROTOR_TLS_DIR="$TLS_DIR" "$VENV/bin/python" -m pytest -q \
  -p no:cacheprovider -p no:asyncio --rootdir "$HERE" -c /dev/null "$HERE/tls_test.py"

echo "== Motor runs the seed's examples"
ROTOR_URI="mongodb://127.0.0.1:$PORT/?directConnection=true" "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  -p no:asyncio --rootdir "$HERE" -c /dev/null "$HERE/test_motor_seed.py"

echo "== pymongo: SCRAM authentication against rotor serve --auth"
start_rotor "$CACHE/rotor-pymongo-auth.log" --auth
AUTH_PORT="${ROTOR_ADDRESS##*:}"
ROTOR_HOST=127.0.0.1 ROTOR_PORT="$AUTH_PORT" "$VENV/bin/python" "$HERE/auth_test.py"

echo "== pymongo: SCRAM-SHA-256 over TLS against rotor serve --auth --tls-cert"
start_rotor "$CACHE/rotor-pymongo-auth-tls.log" --auth \
  --tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key"
AUTH_TLS_PORT="${ROTOR_ADDRESS##*:}"
ROTOR_HOST=127.0.0.1 ROTOR_PORT="$AUTH_TLS_PORT" ROTOR_TLS_CA="$TLS_DIR/ca.pem" \
  "$VENV/bin/python" "$HERE/auth_test.py"

# Runs PyMongo's unified runner on the suites against the server on port
# $1, recording outcomes in report $2 and pytest's output in log $3, as user
# $4 (password the same; empty for none); further arguments go to pytest.
# Stops the script if pytest itself could not run.
spec_pass() {
  local port="$1" report="$2" log="$3" user="$4"
  shift 4
  local credentials=()
  if [[ -n "$user" ]]; then
    credentials=(DB_USER="$user" DB_PASSWORD="$user")
  fi
  rm -f "$report"
  local status=0
  (
    cd "$SRC"
    # addopts is cleared: PyMongo's adds a junit file and marker filters we do not need.
    env "${credentials[@]}" DB_IP=127.0.0.1 DB_PORT="$port" ROTOR_REPORT="$report" PYTHONPATH="$HERE" \
      "$VENV/bin/python" -m pytest -q -p no:cacheprovider -p rotor_report -o addopts="" \
      --timeout "$TEST_TIMEOUT_SECS" --tb=short -rN "$@" \
      test/test_rotor_*.py >"$log" 2>&1
  ) || status=$?
  tail -n 3 "$log"
  # pytest: 0 all passed, 1 some failed; anything else means the run itself broke.
  if [[ $status -gt 1 || ! -s "$report" ]]; then
    tail -n 60 "$log"
    echo "pytest could not run the suites (exit $status)" >&2
    exit 1
  fi
}

echo "== pymongo: unified spec suites"
cp "$HERE"/suites/test_rotor_*.py "$SRC/test/"
REPORT="$CACHE/pymongo-results.json"
spec_pass "$PORT" "$REPORT" "$CACHE/pymongo-pytest.log" ""

# Tests whose runOnRequirements ask for `auth: true` (retryable reads,
# writes and commits after a failed handshake: failCommand on saslContinue
# and the handshake's own commands) run in a second pass against a server
# with --auth, as a root user the localhost exception creates. The main pass
# skipped them; compare.py counts the pass that ran them.
echo "== pymongo: unified spec tests that require authentication"
start_rotor "$CACHE/rotor-pymongo-spec-auth.log" --auth --enable-test-commands
SPEC_AUTH_PORT="${ROTOR_ADDRESS##*:}"
"$VENV/bin/python" - "$SPEC_AUTH_PORT" <<'PY'
import sys
from pymongo import MongoClient
client = MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/?directConnection=true")
client.admin.command("createUser", "spec", pwd="spec", roles=["root"])
PY
AUTH_REPORT="$CACHE/pymongo-results-auth.json"
spec_pass "$SPEC_AUTH_PORT" "$AUTH_REPORT" "$CACHE/pymongo-pytest-auth.log" spec -k Handshake

COMPARE=("$VENV/bin/python" "$HERE/compare.py" --results "$REPORT" "$AUTH_REPORT" --expected "$HERE/expected-failures.txt")
if [[ $UPDATE_EXPECTED == 1 ]]; then
  COMPARE+=(--update)
fi
"${COMPARE[@]}"

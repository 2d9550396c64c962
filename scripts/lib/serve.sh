# Sourced by the test scripts: starts `rotor serve` instances for a script
# and stops them when it exits, whatever happens.
#
#   ROTOR=path/to/rotor
#   source scripts/lib/serve.sh
#   start_rotor LOG ARGS...   # sets ROTOR_ADDRESS=127.0.0.1:PORT
#
# The server listens on a port the kernel picks (`--port 0`) and prints it
# in its ready line, so there is no race for a "free" port.

# How long a server may take to print its ready line.
ROTOR_READY_TIMEOUT_SECS="${ROTOR_READY_TIMEOUT_SECS:-60}"
ROTOR_PIDS=()

stop_rotors() {
  for pid in "${ROTOR_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap stop_rotors EXIT INT TERM

start_rotor() {
  local log="$1"
  shift
  "$ROTOR" serve --in-memory --bind 127.0.0.1 --port 0 --log-level info "$@" >"$log" 2>&1 &
  local pid=$!
  ROTOR_PIDS+=("$pid")
  ROTOR_ADDRESS=""
  for _ in $(seq $((ROTOR_READY_TIMEOUT_SECS * 10))); do
    ROTOR_ADDRESS="$(sed -n 's/.*rotor ready for connections on //p' "$log" | tr -d '[:space:]')"
    [[ -n "$ROTOR_ADDRESS" ]] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "rotor exited before it was ready" >&2; exit 1; }
    sleep 0.1
  done
  cat "$log"; echo "rotor not ready after ${ROTOR_READY_TIMEOUT_SECS}s" >&2; exit 1
}

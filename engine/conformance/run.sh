#!/usr/bin/env bash
# Conformance: drives astraflow-engine with two independent Zeebe clients, pyzeebe (PyPI)
# and zeebe-node (npm), over plaintext gRPC on loopback.
#
#   engine/conformance/run.sh            # builds astraflow-engine with cargo
#   ENGINE_BIN=path/to/astraflow-engine engine/conformance/run.sh
#
# Needs python3 (with venv) and node + npm. Installs, idempotently, pyzeebe into
# engine/conformance/.venv and zeebe-node via `npm ci` into engine/conformance/node.
# Each scenario prints PASS or FAIL; the last line is `N passed, M failed`, and the exit
# status is non-zero when anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${CONFORMANCE_VENV:-$HERE/.venv}"

log() { echo "conformance: $*" >&2; }

# --- clients --------------------------------------------------------------------------
REQS="$HERE/python/requirements.txt"
if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$REQS" "$VENV/.installed-requirements"; then
  log "installing pyzeebe into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.installed-requirements"
fi
LOCK="$HERE/node/package-lock.json"
if [[ ! -d "$HERE/node/node_modules/zeebe-node" ]] || ! cmp -s "$LOCK" "$HERE/node/node_modules/.installed-lock"; then
  log "installing zeebe-node (npm ci)"
  (cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$LOCK" "$HERE/node/node_modules/.installed-lock"
fi

# --- engine ---------------------------------------------------------------------------
if [[ -z "${ENGINE_BIN:-}" ]]; then
  log "building astraflow-engine"
  (cd "$ROOT" && cargo build --quiet -p engine --bin astraflow-engine >&2)
  TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
  ENGINE_BIN="$TARGET/debug/astraflow-engine"
fi
[[ -x "$ENGINE_BIN" ]] || { echo "ENGINE_BIN $ENGINE_BIN is not executable" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/astraflow-conformance.XXXXXX")"
ENGINE_PID=""
cleanup() {
  if [[ -n "$ENGINE_PID" ]] && kill -0 "$ENGINE_PID" 2>/dev/null; then
    kill -TERM "$ENGINE_PID" 2>/dev/null || true
    wait "$ENGINE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port: the kernel picks one, we release it and hand it to the engine.
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
ADDRESS="127.0.0.1:$PORT"
RECORDS="$WORK/records.jsonl"
RUST_LOG="${RUST_LOG:-warn}" "$ENGINE_BIN" --listen "$ADDRESS" --data-dir "$WORK/data" \
  --records "$RECORDS" >"$WORK/engine.log" 2>&1 &
ENGINE_PID=$!

# Wait until the gateway accepts connections (bounded).
ready=0
for _ in $(seq 1 200); do
  if ! kill -0 "$ENGINE_PID" 2>/dev/null; then break; fi
  if "$VENV/bin/python" -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$PORT" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.05
done
if [[ $ready -ne 1 ]]; then
  echo "astraflow-engine did not start; its log:" >&2
  cat "$WORK/engine.log" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
log "engine listening on $ADDRESS"

# --- scenarios ------------------------------------------------------------------------
RESULTS="$WORK/results.txt"
: >"$RESULTS"
(cd "$HERE" && timeout 300 "$VENV/bin/python" python/scenarios.py "$ADDRESS" "$RECORDS" "$HERE/bpmn" \
  2>"$WORK/python.err" | tee -a "$RESULTS") || echo "FAIL python/runner: exited with $?" | tee -a "$RESULTS"
(cd "$HERE/node" && env -u ZEEBE_CLIENT_ID -u ZEEBE_CLIENT_SECRET -u ZEEBE_AUTHORIZATION_SERVER_URL \
  -u ZEEBE_TOKEN_AUDIENCE -u CAMUNDA_OAUTH_URL -u ZEEBE_SECURE_CONNECTION \
  timeout 300 node scenarios.js "$ADDRESS" "$RECORDS" "$HERE/bpmn" \
  2>"$WORK/node.err" | tee -a "$RESULTS") || echo "FAIL node/runner: exited with $?" | tee -a "$RESULTS"

for client in python node; do
  expected="$(grep -c '^    ("' "$HERE/python/scenarios.py")"
  [[ $client == node ]] && expected="$(grep -cE "^  (async |'[a-z-]+'|[a-z]+\()" "$HERE/node/scenarios.js")"
  got="$(grep -c "^\(PASS\|FAIL\) $client/" "$RESULTS" || true)"
  if [[ "$got" -lt "$expected" ]]; then
    echo "FAIL $client/all-scenarios-reported: only $got of $expected reported" | tee -a "$RESULTS"
  fi
done

passed="$(grep -c '^PASS ' "$RESULTS" || true)"
failed="$(grep -c '^FAIL ' "$RESULTS" || true)"
if [[ "$failed" -gt 0 ]]; then
  for client in python node; do
    if [[ -s "$WORK/$client.err" ]]; then
      echo "--- $client stderr (last 40 lines)" >&2
      tail -n 40 "$WORK/$client.err" >&2
    fi
  done
  echo "--- engine log (last 40 lines)" >&2
  tail -n 40 "$WORK/engine.log" >&2
fi
echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]

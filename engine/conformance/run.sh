#!/usr/bin/env bash
# Conformance: drives astraflow-engine with two independent Zeebe clients, pyzeebe (PyPI)
# and zeebe-node (npm), over plaintext gRPC on loopback, authenticated as real workers are:
# OAuth 2.0 client credentials exchanged for access tokens at the ASTRAflow server's
# /oauth/token.
#
#   DATABASE_URL=postgres://… engine/conformance/run.sh      # builds both binaries with cargo
#   ENGINE_BIN=path/to/astraflow-engine SERVER_BIN=path/to/astraflow \
#     DATABASE_URL=postgres://… engine/conformance/run.sh
#
# Starts the server (the token issuer) on a free port against a database of its own, created
# on DATABASE_URL's PostgreSQL and dropped at exit; signs in as the first-start administrator;
# creates the tenants the scenarios use (conf-py-a, conf-py-b, conf-node-a, conf-node-b) and,
# for each, an engine client on its `dev` environment with every permission. Then starts
# astraflow-engine on a free port trusting that issuer (--issuer, --audience
# astraflow-engine:dev, --jwks-url) and runs the scenarios, each client library with the
# credentials of its two tenants.
#
# Needs python3 (with venv), node + npm, curl and psql. Installs, idempotently, pyzeebe into
# engine/conformance/.venv and zeebe-node via `npm ci` into engine/conformance/node.
# Each scenario prints PASS or FAIL; the last line is `N passed, M failed`, and the exit
# status is non-zero when anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${CONFORMANCE_VENV:-$HERE/.venv}"
source "$ROOT/scripts/lib.sh"
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server on which databases may be created}"

log() { echo "conformance: $*" >&2; }
# The result lines always reach the caller's stdout, whatever a function's output is
# redirected to.
exec 3>&1

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

# --- binaries -------------------------------------------------------------------------
TARGET="$(cd "$ROOT" && cargo_target_dir)"
if [[ -z "${ENGINE_BIN:-}" ]]; then
  log "building astraflow-engine"
  (cd "$ROOT" && cargo build --quiet -p engine --bin astraflow-engine >&2)
  ENGINE_BIN="$TARGET/debug/astraflow-engine"
fi
if [[ -z "${SERVER_BIN:-}" ]]; then
  log "building astraflow (the server)"
  (cd "$ROOT" && cargo build --quiet -p server --bin astraflow >&2)
  SERVER_BIN="$TARGET/debug/astraflow"
fi
[[ -x "$ENGINE_BIN" ]] || { echo "ENGINE_BIN $ENGINE_BIN is not executable" >&2; exit 2; }
[[ -x "$SERVER_BIN" ]] || { echo "SERVER_BIN $SERVER_BIN is not executable" >&2; exit 2; }

# A database of its own, so the conformance tenants never meet another test's data.
PSQL="$(pg_bin_dir 2>/dev/null || true)/psql"
[[ -x "$PSQL" ]] || PSQL="$(command -v psql)" || { echo "psql not found" >&2; exit 2; }
DATABASE="conformance_$(date +%s)_$$"
if ! "$PSQL" -q "$DATABASE_URL" -c "create database $DATABASE" >/dev/null; then
  echo "FAIL setup: cannot create a database on DATABASE_URL's server"
  echo "0 passed, 1 failed"
  exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/astraflow-conformance.XXXXXX")"
chmod 755 "$WORK"
ENGINE_PID=""
SERVER_PID=""
stop() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$ENGINE_PID"
  stop "$SERVER_PID"
  "$PSQL" -q "$DATABASE_URL" -c "drop database if exists $DATABASE with (force)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Anything going wrong before the scenarios run is one failure, reported in the same shape.
abort() {
  echo "conformance: $1" >&2
  if [[ -n "${2:-}" && -s "$2" ]]; then
    echo "--- $(basename "$2") (last 40 lines)" >&2
    tail -n 40 "$2" >&2
  fi
  echo "FAIL setup: $1" >&3
  echo "0 passed, 1 failed" >&3
  exit 1
}

# --- server: the token issuer ---------------------------------------------------------
SERVER_PORT="$(free_port)"
SERVER_URL="http://127.0.0.1:$SERVER_PORT"
PASSWORD="conf-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mkdir -p "$WORK/server"
DATABASE_URL="${DATABASE_URL%/*}/$DATABASE" \
  ASTRAFLOW_DATA_DIR="$WORK/server" \
  ASTRAFLOW_HTTP__PORT="$SERVER_PORT" \
  ASTRAFLOW_INITIAL_ADMIN_PASSWORD="$PASSWORD" \
  ASTRAFLOW_SITE__ROOT="$WORK/server/site" \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$SERVER_BIN" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
  if curl -fsS "$SERVER_URL/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
[[ $ready -eq 1 ]] || abort "the server did not become ready" "$WORK/server.log"
log "server listening on $SERVER_URL"

# The REST API, as the first-start administrator's browser session (the origin header
# satisfies the cross-site check). Answers the body; a refusal aborts with the server's words.
JAR="$WORK/cookies"
api() {
  local method="$1" path="$2" body="$3" out
  out="$(curl -sS --fail-with-body -X "$method" -b "$JAR" -c "$JAR" \
    -H 'content-type: application/json' -H "origin: $SERVER_URL" \
    -d "$body" "$SERVER_URL$path" 2>&1)" || abort "$method $path failed: $out" "$WORK/server.log"
  printf '%s' "$out"
}
api POST /api/v1/auth/login "{\"email\":\"admin@astraflow.local\",\"password\":\"$PASSWORD\"}" >/dev/null

# Each client library gets two tenants, each with an engine client of its own on `dev`:
# one token is one tenant, so a library needs one client per tenant.
umask 077
for tenant in conf-py-a conf-py-b conf-node-a conf-node-b; do
  api POST /api/v1/tenants "{\"id\":\"$tenant\",\"name\":\"Conformance $tenant\"}" >/dev/null
  api POST "/api/v1/tenants/$tenant/environments/dev/clients" \
    "{\"name\":\"conformance $tenant\",\"permissions\":[\"jobs\",\"instances\",\"messages\",\"deploy\"]}" \
    >"$WORK/client-$tenant.json"
done
umask 022

# The credentials file each scenario runner reads: the token URL and audience of the
# environment's engine, and client A's and client B's id, secret and tenant.
credentials() {
  python3 - "$WORK" "$1" "$2" <<'EOF'
import json, sys
work, a, b = sys.argv[1:4]
clients = {who: json.load(open(f"{work}/client-{tenant}.json")) for who, tenant in (("a", a), ("b", b))}
first = clients["a"]
assert all(c["token_url"] == first["token_url"] and c["audience"] == first["audience"]
           for c in clients.values()), clients
print(json.dumps({
    "token_url": first["token_url"],
    "audience": first["audience"],
    **{who: {"tenant": tenant, "client_id": clients[who]["client_id"],
             "client_secret": clients[who]["client_secret"]}
       for who, tenant in (("a", a), ("b", b))},
}))
EOF
}
umask 077
credentials conf-py-a conf-py-b >"$WORK/python-clients.json" || abort "unexpected engine clients"
credentials conf-node-a conf-node-b >"$WORK/node-clients.json" || abort "unexpected engine clients"
umask 022
read -r TOKEN_URL AUDIENCE < <(python3 -c \
  'import json,sys; c=json.load(open(sys.argv[1])); print(c["token_url"], c["audience"])' \
  "$WORK/python-clients.json")
[[ $TOKEN_URL == */oauth/token ]] || abort "unexpected token URL $TOKEN_URL"
[[ $AUDIENCE == astraflow-engine:dev ]] || abort "unexpected audience $AUDIENCE"
# The issuer (the tokens' `iss`) is the server's public base URL, the token URL's base.
ISSUER="${TOKEN_URL%/oauth/token}"
log "tenants and engine clients created (issuer $ISSUER, audience $AUDIENCE)"

# --- engine ---------------------------------------------------------------------------
PORT="$(free_port)"
ADDRESS="127.0.0.1:$PORT"
RECORDS="$WORK/records.jsonl"
RUST_LOG="${RUST_LOG:-warn}" "$ENGINE_BIN" --listen "$ADDRESS" --data-dir "$WORK/data" \
  --records "$RECORDS" --issuer "$ISSUER" --audience "$AUDIENCE" \
  --jwks-url "$SERVER_URL/oauth/jwks.json" >"$WORK/engine.log" 2>&1 &
ENGINE_PID=$!

# Wait until the gateway accepts connections (bounded).
ready=0
for _ in $(seq 1 200); do
  if ! kill -0 "$ENGINE_PID" 2>/dev/null; then break; fi
  if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$PORT" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.05
done
[[ $ready -eq 1 ]] || abort "astraflow-engine did not start" "$WORK/engine.log"
log "engine listening on $ADDRESS"

# --- scenarios ------------------------------------------------------------------------
RESULTS="$WORK/results.txt"
: >"$RESULTS"
(cd "$HERE" && timeout 300 "$VENV/bin/python" python/scenarios.py "$ADDRESS" "$RECORDS" "$HERE/bpmn" \
  "$WORK/python-clients.json" 2>"$WORK/python.err" | tee -a "$RESULTS") \
  || echo "FAIL python/runner: exited with $?" | tee -a "$RESULTS"
(cd "$HERE/node" && env -u ZEEBE_CLIENT_ID -u ZEEBE_CLIENT_SECRET -u ZEEBE_AUTHORIZATION_SERVER_URL \
  -u ZEEBE_TOKEN_AUDIENCE -u ZEEBE_TOKEN_SCOPE -u CAMUNDA_OAUTH_URL -u ZEEBE_SECURE_CONNECTION \
  -u ZEEBE_ADDRESS -u ZEEBE_GATEWAY_ADDRESS -u ZEEBE_CAMUNDA_CLOUD_CLUSTER_ID \
  -u ZEEBE_BASIC_AUTH_USERNAME -u ZEEBE_BASIC_AUTH_PASSWORD \
  timeout 300 node scenarios.js "$ADDRESS" "$RECORDS" "$HERE/bpmn" "$WORK/node-clients.json" \
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
  echo "--- server log (last 20 lines)" >&2
  tail -n 20 "$WORK/server.log" >&2
fi
echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]

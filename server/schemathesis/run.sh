#!/usr/bin/env bash
# Property-based API testing: schemathesis (PyPI) generates requests from the OpenAPI document
# the server publishes, valid and invalid, and checks every answer against it (no 5xx, only
# documented statuses and content types, bodies matching their schemas, invalid input refused,
# authentication enforced).
#
#   SERVER_BIN=path/to/astraflow DATABASE_URL=postgres://… server/schemathesis/run.sh
#
# Starts the server on a free port against a fresh database on DATABASE_URL's server, signs in
# as the first-start administrator, creates an owner token for the demo tenant and runs
# schemathesis with it. Installs schemathesis into server/schemathesis/.venv once.
# Exits non-zero when schemathesis reports a failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$ROOT/scripts/lib.sh"
VENV="$HERE/.venv"
: "${SERVER_BIN:?set SERVER_BIN to the astraflow binary}"
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server on which databases may be created}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-40}"

REQS="$HERE/requirements.txt"
if [[ ! -x "$VENV/bin/st" ]] || ! cmp -s "$REQS" "$VENV/.installed-requirements"; then
  echo "schemathesis: installing into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.installed-requirements"
fi

# A database of its own, so generated tenants and members never meet another test's data.
base="${DATABASE_URL%/*}"
database="schemathesis_$(date +%s)_$$"
psql_url="$DATABASE_URL"
"$(pg_bin_dir)/psql" -q "$psql_url" -c "create database $database" >/dev/null

work=$(mktemp -d /tmp/astraflow-schemathesis.XXXXXX)
chmod 755 "$work"
port=$(free_port)
password="st-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  "$(pg_bin_dir)/psql" -q "$psql_url" -c "drop database if exists $database with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The limits are raised so that the generated traffic measures behaviour, not the rate limiters
# (which have their own tests).
DATABASE_URL="$base/$database" \
  ASTRAFLOW_DATA_DIR="$work" \
  ASTRAFLOW_HTTP__PORT="$port" \
  ASTRAFLOW_INITIAL_ADMIN_PASSWORD="$password" \
  ASTRAFLOW_AUTH__REQUESTS_PER_MINUTE=1000000 \
  ASTRAFLOW_AUTH__SIGN_INS_PER_MINUTE_PER_ADDRESS=1000000 \
  ASTRAFLOW_AUTH__SIGN_INS_PER_MINUTE_PER_ACCOUNT=1000000 \
  ASTRAFLOW_SITE__ROOT="$work/site" \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$SERVER_BIN" >"$work/server.log" 2>&1 &
server_pid=$!

url="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
  sleep 0.2
done
curl -fsS "$url/readyz" >/dev/null || { cat "$work/server.log" >&2; die "the server did not become ready"; }

jar="$work/cookies"
curl -fsS -c "$jar" -H 'content-type: application/json' -H "origin: $url" \
  -d "{\"email\":\"admin@astraflow.local\",\"password\":\"$password\"}" \
  "$url/api/v1/auth/login" >/dev/null
token=$(curl -fsS -b "$jar" -H 'content-type: application/json' -H "origin: $url" \
  -d '{"name":"schemathesis","role":"owner","expires_in_days":1}' \
  "$url/api/v1/tenants/demo/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# A workflow deployed to dev, so the operations on a workflow or a deployment reach their
# logic (schemathesis.toml binds the `workflow` and `deployment` path parameters to these).
auth=(-H "Authorization: Bearer $token" -H 'content-type: application/json')
bpmn='<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="contract" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process></bpmn:definitions>'
workflow=$(curl -fsS "${auth[@]}" -d "$(python3 -c 'import json,sys; print(json.dumps({"bpmn_xml": sys.argv[1]}))' "$bpmn")" \
  "$url/api/v1/workflows" | python3 -c 'import json,sys; print(json.load(sys.stdin)["workflow"]["id"])')
deployment=$(curl -fsS "${auth[@]}" -d "{\"workflow_id\":\"$workflow\",\"environment\":\"dev\"}" \
  "$url/api/v1/deployments" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 100); do
  state=$(curl -fsS "${auth[@]}" "$url/api/v1/deployments/$deployment/status" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [[ $state == deployed ]] && break
  [[ $state == failed ]] && die "the seed deployment failed"
  sleep 0.1
done
[[ $state == deployed ]] || die "the seed deployment did not finish"

# Two runs. The first generates everything, valid and invalid. The second sends only valid
# requests, with the workflow and deployment above bound to the `workflow` and `deployment`
# path parameters, so operations on them reach their logic instead of answering 404 for random
# ids (binding them in the first run would turn its invalid ids back into valid ones).
seeded="$work/seeded.toml"
cat "$HERE/schemathesis.toml" - >"$seeded" <<EOF

[parameters]
"path.workflow" = "$workflow"
"path.deployment" = "$deployment"
EOF
status=0
for run in "$HERE/schemathesis.toml" "$seeded"; do
  mode=all
  [[ $run == "$seeded" ]] && mode=positive
  echo "schemathesis: $mode requests" >&2
  "$VENV/bin/st" --config-file "$run" run "$url/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --max-examples "$MAX_EXAMPLES" \
    --mode "$mode" \
    --seed 1 \
    --no-color ${SCHEMATHESIS_ARGS:-} || status=$?
done
if [[ $status -ne 0 ]]; then
  # Refusals of garbage log warnings by the thousand; errors are what explain a failure.
  echo "--- server errors (last 50) ---" >&2
  grep "ERROR" "$work/server.log" | tail -n 50 >&2 || true
fi
exit "$status"

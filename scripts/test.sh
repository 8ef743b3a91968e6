#!/usr/bin/env bash
# Command 2: install what the tests need and run every check and test. Exits non-zero on the
# first failure. CI runs exactly this (see .ci/run).
#
# Set DATABASE_URL to run the database tests against an existing PostgreSQL; otherwise a
# throwaway cluster is started from the machine's PostgreSQL binaries and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

started=$(date +%s)

step "Checking tools"
ensure_rust
ensure_wasm_bindgen
ensure_postgres_binaries
ensure_chromium
ensure_e2e_packages
ensure_test_smtp
ensure_prometheus

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

# The app crate is compiled twice, for the server (ssr) and for the browser (hydrate); the two
# feature sets must not be unified in one build, so each gets its own clippy run (natively the
# frontend crate is empty and asks for nothing).
step "Lints, server feature set (clippy, ssr)"
cargo clippy --workspace --all-targets -- -D warnings
step "Lints, browser feature set (clippy, hydrate, wasm32)"
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

# The conformance scenarios, schemathesis and the browser tests run what users run: the server
# and bundle that scripts/build.sh builds for the README's first command, scripts/run.sh. Built
# before the Rust tests, which then reuse every compiled dependency: `cargo test --workspace`
# resolves the same features as `cargo build -p server` (see "The tests' features" in
# server/Cargo.toml), so it must find the server binary up to date and leave it as it is.
step "Building ASTRAflow as scripts/run.sh does (scripts/build.sh)"
scripts/build.sh
server_bin="$(cargo_target_dir)/debug/astraflow"
# Cargo writes a new file when it rebuilds the binary; one left alone keeps its inode and time.
server_id=$(stat -c '%d:%i %s %Y' "$server_bin")
check_server_bin() {
  [[ $(stat -c '%d:%i %s %Y' "$server_bin") == "$server_id" ]] \
    || die "$1 rebuilt $server_bin with other features than scripts/build.sh, so the tests would not run what ships: see \"The tests' features\" in server/Cargo.toml"
}

step "Starting a PostgreSQL for the tests"
start_test_postgres

step "Rust tests"
cargo test --workspace --no-fail-fast
check_server_bin "cargo test --workspace"

# `cargo test` built astraflow-engine along with the engine's integration tests; the server is
# the clients' OAuth token issuer. DATABASE_URL is the test cluster.
step "Engine conformance with real Zeebe clients (pyzeebe, zeebe-node)"
ENGINE_BIN="$(cargo_target_dir)/debug/astraflow-engine" SERVER_BIN="$server_bin" \
  engine/conformance/run.sh

step "REST API against its OpenAPI document (schemathesis)"
SERVER_BIN="$server_bin" server/schemathesis/run.sh

# promtool comes with Debian's prometheus package (ensure_prometheus above).
step "Prometheus alert rules (promtool check and unit tests)"
promtool check rules ops/prometheus/astraflow-alerts.yml
(cd ops/prometheus && promtool test rules astraflow-alerts.test.yml)

step "BPMN interchange models round-trip (bpmn-roundtrip)"
cargo run -q -p bpmn --bin bpmn-roundtrip -- testdata/miwg/*.bpmn bpmn/tests/fixtures/*.bpmn

# bpmn-moddle is the reader of bpmn-js and Camunda Modeler: what we write must open there with
# no warning the original file did not have.
step "Written BPMN opens in bpmn-moddle as cleanly as the original (node --test)"
roundtrip_bin=$(realpath "$(cargo_target_dir)/debug/bpmn-roundtrip")
(cd end2end && BPMN_ROUNDTRIP_BIN="$roundtrip_bin" node --test bpmn-moddle/)

step "FEEL parser tests on wasm32 (wasm-bindgen-test in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p feel --target wasm32-unknown-unknown --test wasm

step "Browser tests (Chromium)"
check_server_bin "a cargo command since the Rust tests"
e2e_data=$(mktemp -d /tmp/astraflow-e2e.XXXXXX)
chmod 755 "$e2e_data"
(
  cd end2end
  E2E_DATA_DIR=$e2e_data E2E_SERVER_BIN="$server_bin" \
    E2E_PLANE_BIN="$(cargo_target_dir)/debug/astraflow-plane" \
    E2E_PORT=$(free_port) E2E_OIDC_PORT=$(free_port) \
    npx playwright test
)
rm -rf "$e2e_data"

step "All checks passed in $(( $(date +%s) - started ))s"

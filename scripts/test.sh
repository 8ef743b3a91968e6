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

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

# The app crate is compiled twice, for the server (ssr) and for the browser (hydrate); the two
# feature sets must not be unified in one build, so each gets its own clippy run.
step "Lints, server feature set (clippy, ssr)"
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
step "Lints, browser feature set (clippy, hydrate, wasm32)"
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

step "Starting a PostgreSQL for the tests"
start_test_postgres

step "Rust tests"
cargo test --workspace --exclude frontend --no-fail-fast

# `cargo test` built astraflow-engine along with the engine's integration tests, and the server
# (the clients' OAuth token issuer) along with the server's; DATABASE_URL is the test cluster.
step "Engine conformance with real Zeebe clients (pyzeebe, zeebe-node)"
ENGINE_BIN="$(cargo_target_dir)/debug/astraflow-engine" SERVER_BIN="$(cargo_target_dir)/debug/astraflow" \
  engine/conformance/run.sh

step "REST API against its OpenAPI document (schemathesis)"
SERVER_BIN="$(cargo_target_dir)/debug/astraflow" server/schemathesis/run.sh

step "BPMN interchange models round-trip (bpmn-roundtrip)"
cargo run -q -p bpmn --bin bpmn-roundtrip -- testdata/miwg/*.bpmn

step "FEEL parser tests on wasm32 (wasm-bindgen-test in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p feel --target wasm32-unknown-unknown --test wasm

# `cargo test` above has built the server binary already (integration tests build the package's
# binaries); building it again with `cargo build` would resolve features differently and
# recompile much of the dependency tree.
step "Building the browser bundle for the browser tests"
scripts/build.sh --bundle-only

step "Browser tests (Chromium)"
e2e_data=$(mktemp -d /tmp/astraflow-e2e.XXXXXX)
chmod 755 "$e2e_data"
(
  cd end2end
  E2E_DATA_DIR=$e2e_data E2E_SERVER_BIN="$(cd .. && cargo_target_dir)/debug/astraflow" \
    E2E_PORT=$(free_port) E2E_OIDC_PORT=$(free_port) \
    npx playwright test
)
rm -rf "$e2e_data"

step "All checks passed in $(( $(date +%s) - started ))s"

#!/usr/bin/env bash
# Command 1: install what is missing, build, and serve ASTRAflow on http://127.0.0.1:3000.
#
#   scripts/run.sh             debug build, fastest to compile
#   scripts/run.sh --release   optimised build
#
# With no DATABASE_URL the server starts its own PostgreSQL with data in .astraflow/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust
ensure_wasm_bindgen
ensure_postgres_binaries
scripts/build.sh "$@"

profile=debug
[[ "${1:-}" == "--release" ]] && profile=release
step "Starting ASTRAflow (Ctrl-C stops it)"
exec "$(cargo_target_dir)/$profile/astraflow"

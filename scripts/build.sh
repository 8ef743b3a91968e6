#!/usr/bin/env bash
# Builds the browser bundle, the server and the execution plane.
#
#   scripts/build.sh             debug build (fast to compile); scripts/run.sh and the tests
#                                run this one
#   scripts/build.sh --release   optimised build (what ships)
#
# The bundle lands in target/site/pkg (the server's default site root), whatever
# CARGO_TARGET_DIR says, so the server finds it from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

profile=debug
cargo_profile=()
wasm_profile=()
case "${1:-}" in
  --release)
    profile=release
    cargo_profile=(--release)
    wasm_profile=(--profile wasm-release)
    ;;
  "") ;;
  *) die "unknown option $1 (expected --release)" ;;
esac

target_dir=$(cargo_target_dir)
site=target/site
mkdir -p "$site/pkg"

step "Building the browser bundle ($profile)"
cargo build -p frontend --lib --target wasm32-unknown-unknown "${wasm_profile[@]}"
wasm_dir="$target_dir/wasm32-unknown-unknown/$([[ $profile == release ]] && echo wasm-release || echo debug)"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name astraflow \
  "$wasm_dir/frontend.wasm"
if [[ $profile == release ]]; then
  wasm_opt=$(wasm_opt_bin)
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$site/pkg/astraflow_bg.wasm" -o "$site/pkg/astraflow_bg.wasm"
fi
cp style/main.css "$site/pkg/astraflow.css"

# One cargo call for both binaries: their shared dependencies resolve to one feature set, the
# same one `cargo test --workspace` resolves, so the tests run exactly these binaries.
step "Building the server and the execution plane ($profile)"
cargo build -p server --bin astraflow -p plane --bin astraflow-plane "${cargo_profile[@]}"
echo "server binary: $target_dir/$profile/astraflow"
echo "execution plane binary: $target_dir/$profile/astraflow-plane"

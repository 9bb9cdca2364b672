#!/usr/bin/env bash
# Runs every test tier: formatting and lints, unit and HTTP tests, then the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# cargo-leptos sets these for its debug builds; setting them for every cargo call here lets
# the lints, the tests and the browser build share one set of compiled dependencies.
export LEPTOS_OUTPUT_NAME=fennec
export RUSTFLAGS="--cfg erase_components"
# Builds go to a folder outside the checkout, so that later runs on this machine (a CI run in
# a fresh clone, say) reuse them; a new machine simply builds from scratch.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fennec/target}"

scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "Formatting and lints (server and WASM builds)"
cargo fmt --all --check
cargo clippy -p fennec-core -p fennec-server --all-targets --features fennec-core/pkcs12 -- -D warnings
cargo clippy -p fennec-frontend --target wasm32-unknown-unknown -- -D warnings

step "Unit and in-process HTTP tests on SQLite"
cargo test -p fennec-core -p fennec-server --features fennec-core/pkcs12

step "The same tests on PostgreSQL"
scripts/postgres.sh
FENNEC_TEST_DATABASE=postgres cargo test -p fennec-core -p fennec-server --features fennec-core/pkcs12

step "Building the console and the server"
cargo leptos build --split
node scripts/precompress.mjs target/site/pkg
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')

step "Browser and interoperability tests"
data_dir=$(mktemp -d)
trap 'rm -rf "$data_dir"' EXIT
export FENNEC_BIN="$target_dir/debug/fennec"
export FENNEC_SITE_ROOT="$root/target/site"
export FENNEC_DATA_DIR="$data_dir"
(cd end2end && npx playwright test)

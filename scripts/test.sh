#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints on every target,
# the firmware build, and the tests (host behaviour and properties, trybuild
# compile tests, std programs on generated allocators, the wasm demo under
# Node), once with `lite_alloc::Default` moving on realloc and once with its
# in-place realloc.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "formatting"
cargo fmt --all --check
(cd examples/firmware && cargo fmt --check)

step "clippy: host, wasm32, firmware (thumbv7em, thumbv6m)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p lite-alloc -p wasm-demo --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p lite-alloc --target thumbv7em-none-eabihf --features critical-section -- -D warnings
# No atomic compare-and-swap here: `Default` and `sync = spin` are left out.
cargo clippy -p lite-alloc --target thumbv6m-none-eabi --features critical-section -- -D warnings
(cd examples/firmware && cargo clippy --release --locked -- -D warnings)

step "docs (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p lite-alloc --quiet

step "tests, lite_alloc::Default without in-place realloc"
cargo test --workspace

step "tests, lite_alloc::Default with in-place realloc (crate feature realloc)"
cargo test -p lite-alloc-tests -p lite-alloc --features lite-alloc-tests/realloc,lite-alloc/realloc

echo
echo "all checks passed"

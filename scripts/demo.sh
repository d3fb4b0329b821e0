#!/usr/bin/env bash
# The main demo: ordinary Rust code on wasm32 with lite_alloc::Default as its
# global allocator, run under Node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cargo build --quiet --release -p wasm-demo --target wasm32-unknown-unknown
node examples/wasm-demo/run.mjs target/wasm32-unknown-unknown/release/wasm_demo.wasm

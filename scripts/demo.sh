#!/usr/bin/env bash
# The main demo: ordinary Rust code on wasm32 with lite-alloc as its global
# allocator, run under Node, printing the allocator's statistics: first with
# lite_alloc::Default's configuration (lite-alloc 0.1.0's four-bin design), then with
# large blocks reused and realloc in place.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
for variant in documented reuse; do
    features=()
    [ "$variant" = reuse ] && features=(--features reuse)
    cargo build --quiet --release -p wasm-demo --target wasm32-unknown-unknown \
        --target-dir "target/demo-$variant" "${features[@]}"
    node examples/wasm-demo/run.mjs "target/demo-$variant/wasm32-unknown-unknown/release/wasm_demo.wasm"
    echo
done

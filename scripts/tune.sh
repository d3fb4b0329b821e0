#!/usr/bin/env bash
# The case studies of lite-alloc-tune (README, "Choosing bins"): records the
# allocations of two real programs (a serde_json round trip of an 18.8 MB
# document, thirty regexes over its text) on wasm32-wasip1 under node:wasi,
# runs lite-alloc-tune on each trace, and keeps its report and size
# histogram in bench/results/. The benchmark (scripts/bench.sh) measures the
# configurations it recommends ("lite-alloc, tuned for ...").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
(cd bench && npm ci --silent --no-audit --no-fund)
(cd bench/real && cargo build --quiet --locked --release --target wasm32-wasip1 --features record)
traces=target/tune-traces
node --no-turbo-fast-api-calls --no-warnings bench/record.mjs bench/real/target/wasm32-wasip1/release/real.wasm \
    "$traces" json regex
for program in json regex; do
    cargo run --quiet --release -p lite-alloc-tune -- "$traces/$program.trace" \
        --svg "bench/results/tune-$program.svg" | tee "bench/results/tune-$program.txt"
    echo
done

#!/usr/bin/env bash
# The case studies of lite-alloc-tune (lite-alloc-tune/README.md, "Case
# studies"): records the allocations of three real programs (bench/real: a
# serde_json round trip of an 18.8 MB document, thirty regexes over its text,
# syn parsing a 142 KB Rust file and printing it back ten times) on
# wasm32-wasip1 under node:wasi, each streaming its trace to a file as it
# runs; runs lite-alloc-tune on each trace and keeps its report and size
# histogram in bench/results/tune-PROGRAM.{txt,svg}. The benchmark
# (scripts/bench.sh) measures the configurations it recommends ("lite-alloc,
# tuned for ...").
#
#   bash scripts/tune.sh            record and tune (a few minutes)
#   bash scripts/tune.sh --check    then build each program with every
#                                   configuration replayed and measure its
#                                   pages against the prediction
#                                   (bench/tune.mjs, about an hour)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
(cd bench && npm ci --silent --no-audit --no-fund)
(cd bench/real && cargo build --quiet --locked --release --target wasm32-wasip1 --features record)
programs=(json regex syn)
traces=target/tune-traces
node --no-turbo-fast-api-calls --no-warnings bench/record.mjs bench/real/target/wasm32-wasip1/release/real.wasm \
    "$traces" "${programs[@]}"
cargo build --quiet --release -p lite-alloc-tune
for program in "${programs[@]}"; do
    target/release/lite-alloc-tune "$traces/$program.trace" --svg "bench/results/tune-$program.svg" |
        tee "bench/results/tune-$program.txt"
    echo
done
if [ "${1:-}" = --check ]; then
    node --no-turbo-fast-api-calls --no-warnings bench/tune.mjs "${programs[@]}"
fi

#!/usr/bin/env bash
# The benchmark against the peers: code size, speed and peak memory on wasm32
# (in Node), real programs on wasm32-wasip1 (node:wasi), code size on firmware
# (thumbv7em). Writes the full report into bench/README.md, the data and the
# chart into bench/results/, and a summary into the README.
#
#   bash scripts/bench.sh                     # the full run (about 20 minutes)
#   bash scripts/bench.sh --rounds 1 --warmup 0 --no-write   # what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
(cd bench && npm ci --silent --no-audit --no-fund)
node --no-turbo-fast-api-calls --expose-gc bench/run.mjs "$@"

#!/usr/bin/env bash
# Allocator code on wasm32 (raw and after `wasm-opt -Oz`) for our types, or
# for the allocators named (ids of bench/allocators.mjs):
#
#   bash scripts/size.sh
#   bash scripts/size.sh lite-general talc dlmalloc
set -euo pipefail
cd "$(dirname "$0")/.."
(cd bench && npm ci --silent --no-audit --no-fund)
node bench/size.mjs "$@"

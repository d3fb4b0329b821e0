#!/usr/bin/env bash
# Measures allocator code size on wasm32: a probe module exporting only alloc,
# dealloc and realloc through the global allocator (opt-level "z", LTO, one
# codegen unit, panic=abort, stripped), minus an empty module, raw and after
# binaryen's `wasm-opt -Oz`. Prints a markdown table.
#
#   bash scripts/size.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/bench"
npm install --silent --no-audit --no-fund
wasm_opt="$root/bench/node_modules/.bin/wasm-opt"
probe="$root/bench/size-probe"
out="$root/target/size-probe"
mkdir -p "$out"

measure() { # feature -> "raw optimised" bytes
    local feature=$1 file="$out/$1.wasm"
    (cd "$probe" && cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$out/build" \
        ${feature:+--features "$feature"})
    cp "$out/build/wasm32-unknown-unknown/release/size_probe.wasm" "$file"
    "$wasm_opt" -Oz --all-features "$file" -o "$file.opt"
    echo "$(stat -c %s "$file") $(stat -c %s "$file.opt")"
}

read -r base_raw base_opt < <(measure "")
echo "| allocator | code bytes | after \`wasm-opt -Oz\` |"
echo "|---|---:|---:|"
for entry in "default-alloc:lite_alloc::Default" "default-realloc:lite_alloc::Default, \`realloc\` feature" \
    "published:lite-alloc 0.1.0 (the documented design as published)" "published-realloc:lite-alloc 0.1.0, \`realloc\` feature"; do
    feature=${entry%%:*}
    read -r raw opt < <(measure "$feature")
    echo "| ${entry#*:} | $((raw - base_raw)) | $((opt - base_opt)) |"
done
echo
echo "(rustc $(rustc --version | cut -d' ' -f2), binaryen $("$wasm_opt" --version | grep -o '[0-9]*' | head -1), $(date -u +%Y-%m-%d))"

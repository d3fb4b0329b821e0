#!/usr/bin/env bash
# Runs every cargo-fuzz target (the shadow model driven by libFuzzer) for
# SECONDS each (default 600), twice: on the host with AddressSanitizer, then
# on i686, a 32-bit target as wasm32 and thumb are (4-byte words and headers,
# an 8-byte grain), without a sanitizer: Rust ships no AddressSanitizer
# runtime for i686, and the shadow model and the heap's own checks after
# every step are what find a broken heap there. A crash fails the run and
# leaves its input in fuzz/artifacts/TARGET/; turn it into a regression test.
# Naming lanes (`host`, `i686`) runs those alone: CI fuzzes on i686 only.
#
#   bash scripts/fuzz.sh [SECONDS [LANE...]]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift $(($# > 0 ? 1 : 0))
lanes=("$@")
[ ${#lanes[@]} -gt 0 ] || lanes=(host i686)
host=(--sanitizer address)
i686=(--sanitizer none --target i686-unknown-linux-gnu)
for lane in "${lanes[@]}"; do
    case "$lane" in
    host | i686) ;;
    *) echo "error: unknown lane $lane (host or i686)" >&2; exit 1 ;;
    esac
done
for lane in "${lanes[@]}"; do
    declare -n flags=$lane
    cargo +nightly fuzz build "${flags[@]}"
done
log=$(mktemp)
for lane in "${lanes[@]}"; do
    declare -n flags=$lane
    for target in $(cargo +nightly fuzz list); do
        echo "fuzzing $target on $lane for $seconds s"
        status=0
        cargo +nightly fuzz run "${flags[@]}" "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
            >"$log" 2>&1 || status=$?
        grep -E '^#[0-9]+ +DONE|^Done ' "$log" || true
        if [ "$status" -ne 0 ]; then
            tail -n 60 "$log"
            echo "error: fuzz target $target failed on $lane (exit $status); its input is in fuzz/artifacts/$target/" >&2
            exit 1
        fi
    done
done

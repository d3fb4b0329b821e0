#!/usr/bin/env bash
# Runs every cargo-fuzz target (the shadow model driven by libFuzzer, with
# AddressSanitizer) for SECONDS each (default 600). A crash fails the run and
# leaves its input in fuzz/artifacts/TARGET/; turn it into a regression test.
#
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
cargo +nightly fuzz build
log=$(mktemp)
for target in $(cargo +nightly fuzz list); do
    echo "fuzzing $target for $seconds s"
    status=0
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+ +DONE|^Done ' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log"
        echo "error: fuzz target $target failed (exit $status); its input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done

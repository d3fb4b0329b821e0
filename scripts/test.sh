#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints on every target, and
# the tests (host behaviour, properties, the shadow model and the
# configuration space, trybuild compile tests, std programs on generated
# allocators, the wasm suite under Node, the firmware under QEMU), once with
# `lite_alloc::Default` moving on realloc and once with its in-place realloc,
# and `Default` and `General` in the checked mode (crate feature `check`);
# the model and the configuration space on 32-bit targets (i686, natively
# and under Miri, and wasm32 under Node's WASI); then AddressSanitizer, the
# host suite under Miri (Stacked and Tree Borrows, strict provenance) beside
# each fuzz target on i686, for a short, bounded time, and one round of the
# benchmark on a few allocators (docs/testing.md lists the longer runs:
# `scripts/fuzz.sh` on the host and on i686, `scripts/bench.sh` on every
# allocator).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Every build here starts from nothing and is not edited again: incremental
# compilation would only write caches nothing reads, and line tables are
# all a failing test's backtrace needs (the rest of the debug information
# only lengthens every build). Exported, so that the builds the tests run
# use them too.
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

# Jobs run in the background (the size build's tests, Miri's lanes): each a
# process group of its own (`set -m`), stopped whole if the run stops
# early; its output kept in target/logs/NAME.log, each command with the
# time it started, and printed when the job is awaited.
declare -A background=()
PS4='+ $(date +%T) '
mkdir -p target/logs
trap 'for pid in "${background[@]}"; do kill -- -"$pid" 2>/dev/null || true; done' EXIT
# `in_background NAME COMMAND...`
in_background() {
    local name=$1
    shift
    set -m
    (set -ex; "$@"; echo "$name ended $(date +%T)") >"target/logs/$name.log" 2>&1 &
    background[$name]=$!
    set +m
}
# `await NAME...`: waits for each job, prints its log, fails if one failed.
await() {
    local name failed=()
    for name in "$@"; do
        wait "${background[$name]}" || failed+=("$name")
        unset "background[$name]"
        cat "target/logs/$name.log"
    done
    if [ ${#failed[@]} != 0 ]; then
        echo "error: ${failed[*]} failed (the log is above)" >&2
        exit 1
    fi
}

step "formatting"
cargo fmt --all --check
(cd examples/firmware && cargo fmt --check)
(cd bench/firmware-probe && cargo fmt --check)
(cd bench/real && cargo fmt --check)
# Outside the workspace's module trees: lite-alloc-tune's replay program
# (its generated module is not there: read from stdin) and the program its
# end-to-end tests record and measure.
rustfmt --edition 2024 <lite-alloc-tune/replay/main.rs | cmp -s - lite-alloc-tune/replay/main.rs ||
    { echo "lite-alloc-tune/replay/main.rs is not formatted (rustfmt --edition 2024)" >&2; exit 1; }
rustfmt --edition 2024 --check lite-alloc-tune/tests/program/build.rs lite-alloc-tune/tests/program/src/main.rs \
    lite-alloc-tune/general_line.rs
(cd tests/check-feature && cargo fmt --check)
(cd tests/firmware-m0 && cargo fmt --check)
(cd tests/wasm-threads && cargo fmt --check)

step "clippy: host, wasm32, firmware (thumbv7em, thumbv6m)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p lite-alloc -p wasm-demo -p lite-alloc-wasm-suite -p lite-alloc-wasm-bindgen --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p wasm-demo -p lite-alloc-wasm-suite --features wasm-demo/reuse,lite-alloc-wasm-suite/options \
    --target wasm32-unknown-unknown -- -D warnings
for variant in general coalesce slab-bin checked-default checked-general checked-reuse checked-coalesce; do
    cargo clippy -p lite-alloc-wasm-suite --features "$variant" --target wasm32-unknown-unknown -- -D warnings
done
# The runtime and its tests as the wasm32 lane below builds them.
cargo clippy -p lite-alloc -p lite-alloc-tests --all-targets --target wasm32-wasip1 -- -D warnings
cargo clippy -p lite-alloc --target thumbv7em-none-eabihf --features critical-section -- -D warnings
# No atomic compare-and-swap here: `Default` and `sync = spin` are left out.
cargo clippy -p lite-alloc --target thumbv6m-none-eabi --features critical-section -- -D warnings
# The checked mode (its hook and message buffer use atomic loads and stores
# only, which thumbv6m has).
cargo clippy -p lite-alloc --target thumbv7em-none-eabihf --features critical-section,check -- -D warnings
cargo clippy -p lite-alloc --target thumbv6m-none-eabi --features critical-section,check -- -D warnings
cargo clippy -p lite-alloc --target wasm32-unknown-unknown --features check -- -D warnings
(cd tests/check-feature && cargo clippy --locked --all-targets -- -D warnings)
(cd examples/firmware && cargo clippy --release --locked -- -D warnings)
(cd tests/firmware-m0 && cargo clippy --release --locked -- -D warnings)
(cd bench/firmware-probe && cargo clippy --release --locked --features exports,lite-cs-realloc -- -D warnings)
(cd bench/firmware-probe && cargo clippy --release --locked --features exports,lite-general-cs -- -D warnings)
(cd bench/real && cargo clippy --release --locked --target wasm32-wasip1 --features lite-alloc-bench-allocators/lite-general -- -D warnings)
# wasm32 with threads (the `atomics` target feature, nightly and `core`
# rebuilt with it), the one wasm build where `sync = spin` is a real spin
# lock: the module run on Node's worker threads (tests/wasm_threads.rs),
# whose folder's config chooses the target, the features and `build-std`.
(cd tests/wasm-threads && cargo +nightly clippy --quiet --release --locked -- -D warnings)

step "docs (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p lite-alloc --quiet
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p lite-alloc --quiet --features std,allocator-api2,critical-section
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p lite-alloc --quiet --features std,allocator-api2,critical-section,check
# The examples with every feature, as docs.rs shows them (the test steps
# below run them with the default features).
cargo test --doc -p lite-alloc --quiet --all-features
# The internals' docs too (the heap's invariants and safety arguments live
# there): every intra-doc link among private items resolves.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p lite-alloc --quiet --document-private-items \
    --features std,allocator-api2,critical-section,check

step "packaging: the three crates in publish order, and the tuner installed from this checkout"
# Each package is built from its packaged files alone, the ones before it
# standing in for crates.io (a local registry). Cargo takes a registry crate of
# a version it has seen as unchanged: it keeps the copy it unpacked and the
# build it made of it, so an earlier run's macros (or runtime, for the tuner)
# would stand in for today's. Both go first (the copies live in directories
# of local registries, named from `-`, never crates.io's; `cargo clean -p`
# removes every build of a package, the workspace's and the packaged one).
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/lite-alloc-*
cargo clean --quiet -p lite-alloc-macros -p lite-alloc
cargo package --quiet -p lite-alloc-macros -p lite-alloc -p lite-alloc-tune
installed="$(mktemp -d)"
cargo install --quiet --locked --debug --path lite-alloc-tune --root "$installed"
(cd "$installed" && ./bin/lite-alloc-tune --help | grep -q -- --workdir) ||
    { echo "the installed lite-alloc-tune does not run from another directory" >&2; exit 1; }
rm -rf "$installed"

# Built for size (opt-level "s" or "z", as wasm and firmware users ship it),
# lite-alloc takes another path through its chunks: the list a size falls in
# is one shared call, and the speed build's shortcuts are left out
# (`opt_level_size`, lite-alloc/build.rs). The runtime's unit tests, the
# shadow model, the configuration space and the options on that code, with
# debug assertions, on the two 32-bit targets where it ships: i686 (for
# thumb) and wasm32 (the wasm32 step below runs the build for speed
# there); the host runs the size build's placements below. A unit test and
# the model check that each command built the lite-alloc it asked for.
# Output is not captured: on wasm32 a panic aborts the module before the
# harness could print what it captured.
#
# In the background, beside the host tests, which leave a core idle for
# minutes (test programs that run one after another, many on one thread),
# in a target directory of its own, so that neither waits for the other's
# lock. None of these tests has threads; the host's tests whose threads
# spin on a lock may run slower beside them, well within their limits (a
# core taken from the lock's holder stalls the others for a while). Its
# output is printed when it is awaited, before the Miri lanes start.
size_tests() {
    export CARGO_TARGET_DIR=target/size
    for target in i686-unknown-linux-gnu wasm32-wasip1; do
        LITE_ALLOC_TEST_BUILT_FOR=size cargo test "${built_for_size[@]}" --target "$target" \
            -p lite-alloc --lib -- --nocapture
        LITE_ALLOC_TEST_BUILT_FOR=size cargo test "${built_for_size[@]}" --target "$target" \
            -p lite-alloc-tests --test model --test configs --test options -- --nocapture
    done
}
step "tests of lite-alloc built for size (opt-level z), on i686 and on wasm32 (started in the background)"
built_for_size=(--config 'profile.dev.package.lite-alloc.opt-level="z"')
in_background size-build size_tests

step "tests, lite_alloc::Default without in-place realloc"
# Built for speed (the dev profile gives lite-alloc opt-level 2): a unit
# test and the model check that `opt_level_size` is off, as the size
# build's tests (started above) check that it is on.
LITE_ALLOC_TEST_BUILT_FOR=speed cargo test --workspace

step "tests, lite_alloc::Default with in-place realloc (crate feature realloc)"
# The feature changes `lite_alloc::Default` alone: the runtime's own tests
# and examples, and the suites that use `Default` (the seed tests, the
# properties, a program with it as its global allocator). Not the checked
# mode's tests, which do not use `Default`'s realloc, nor the wasm suites,
# which build `Default` with in-place realloc themselves: they ran above.
cargo test -p lite-alloc --features realloc
cargo test -p lite-alloc-tests --features realloc --test seed --test properties --test default_global

# Outside the workspace, whose feature unification would check every
# `Default` and `General` of its tests: eight threads, a million operations
# each, on checked `Default` and `General`.
step "tests, lite_alloc::Default and General in the checked mode (crate feature check)"
(cd tests/check-feature && cargo test --locked)

# Users run on 32-bit targets (wasm32, thumb), where words, headers, grains
# and alignments differ: the runtime's unit tests, the shadow model, the
# configuration space and the direct-call suites, natively on i686.
step "tests on a 32-bit target (i686-unknown-linux-gnu)"
cargo test --target i686-unknown-linux-gnu -p lite-alloc --lib
cargo test --target i686-unknown-linux-gnu -p lite-alloc-tests \
    --test model --test configs --test properties --test memory_sources --test adversarial \
    --test seed --test options --test checked --test checked_global --test checked_edges \
    --test checked_workloads

step "tests of lite-alloc built for size: their results"
await size-build

# Under Miri: the direct-call suites and a program with `lite_alloc::Default`
# as its global allocator. `tests/std_program.rs` is left out: its threads
# spin on the allocator's lock, which Miri interprets step by step (minutes).
#
# Miri interprets on one thread: two lanes run side by side, each in a
# target directory of its own (a cargo run holds its directory's lock while
# its tests run), each lane's output kept in a log and printed when it ends.
# The lanes take about as long as each other: the first runs Stacked
# Borrows on the host, the crate features and the shadow model under Tree
# Borrows too, and the checked mode's misuses; the second Stacked Borrows on
# i686, then Tree Borrows on the host. Each lane starts on a target of its
# own, so that each builds its target's Miri sysroot alone (two Miri runs
# that build one sysroot at once can fail: rust-lang/miri#4320); the host's
# is built by the time the second lane reaches the host.
miri_stacked() {
    # Not the model's checked configurations (`checked_*`: two minutes each
    # under Miri); the checked layer runs under Miri at the end of this
    # lane, on i686 in the other lane, and as `checked_global`'s allocator.
    # Nor the bins that are multiples of the grain (`coalesce_grain_bins`,
    # `coalesce_one_small_bin`): what sets them apart, slabs carved without
    # padding, happens on 32-bit targets, and the lane on i686 runs them.
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test -p lite-alloc-tests \
        --test seed --test properties --test options --test model --test memory_sources \
        --test default_global --test general_global --test claimed --test checked_global -- \
        --skip checked_ --skip coalesce_grain_bins --skip coalesce_one_small_bin
    # The crate features std (memory = system, Default and General on a host)
    # and allocator-api2, under both models.
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test -p lite-alloc-feature-tests
    MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-tree-borrows" cargo +nightly miri test -p lite-alloc-feature-tests
    # The checked mode's misuses on the heap where it writes most (no bins:
    # every block a chunk, its links and footers next to the caller's
    # bytes).
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test -p lite-alloc-tests --test checked -- no_bins
    # The shadow model under Tree Borrows (see `miri_tree`), here for the
    # lanes' balance.
    MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-tree-borrows" cargo +nightly miri test -p lite-alloc-tests --test model -- \
        defaults_in_place large_reuse_in_place coalesce_in_place chunks_in_place --skip checked_
}

# Tree Borrows runs the programs with global allocators (boxes dropped by
# value: protected pointers, where the two models differ most), the seed
# tests, claimed memory, the crate features (in the first lane) and the
# shadow model on one configuration of each kind of heap (bins only, large
# blocks reused, coalesced, no bins) rather than all thirty: the model takes
# three minutes under Miri, and Stacked Borrows runs nearly all of it (the
# model's run is in the first lane, which has the time). The properties and
# the options, which run under Stacked Borrows, are not run again here.
miri_tree() {
    MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-tree-borrows" cargo +nightly miri test -p lite-alloc-tests \
        --test seed --test default_global --test general_global --test claimed --test checked_global
}

# Miri on the 32-bit target: one model of each kind of heap (with the
# 16-aligned bin of 8 KiB in front of chunks that once overlapped a header
# there, and bins that are multiples of the grain, carved without padding
# there), the first configurations of the configuration space, the
# memory-source contracts, and adversarial sources (odd addresses, gaps,
# short regions, claimed banks: one chaotic source under Miri, where each
# takes minutes; all of them run natively on i686), and boxes dropped by
# value under General, their links written through the box's pointer.
miri_i686() {
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --target i686-unknown-linux-gnu \
        -p lite-alloc-tests --test model -- \
        defaults_in_place large_reuse_in_place coalesce_aligned_slab_sized_bin coalesce_grain_bins \
        coalesce_one_small_bin chunks_in_place --skip checked_
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --target i686-unknown-linux-gnu \
        -p lite-alloc-tests --test configs --test memory_sources --test adversarial --test general_global -- \
        config_000 config_001 config_002 config_005 reentry short_first_region_chunks \
        ends_at_top whole_exact_regions bins_on_less_than_a_slab chaos_chunks_8k \
        claimed_region_wasted_general boxes_dropped_by_value region_below_an_earlier_one --skip _checked
    # The checked mode's edges: uses after free found while memory runs out, a
    # stale write that makes the heap hand out a live block, the spares. Not
    # the table grown past 1500 blocks (`the_table_never_grows_into_a_live_block`),
    # which takes Miri longer than all the other edges together; it runs
    # natively on the host, i686 and wasm32.
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --target i686-unknown-linux-gnu \
        -p lite-alloc-tests --test checked_edges -- spares a_live_block a_poisoned a_poisoning flush double_free hook nested_calls a_call_reports a_written_spare a_stale_chunk_ a_stale_link_found a_list_cut_short forgotten_chunks a_stale_write_into a_spare_linked
}

step "AddressSanitizer"
RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=target/asan \
    cargo +nightly test --target x86_64-unknown-linux-gnu -p lite-alloc-tests \
    --test seed --test properties --test model --test std_program --test default_global

# Miri's two lanes run in the background while the rest runs in the
# foreground (the tests on wasm32, the placements, fuzzing and the
# benchmark): each lane interprets on one thread, and Node (running the
# wasm32 tests and the benchmark) and libFuzzer work mostly on one thread
# too, so the three share the two cores with little left idle. Nothing
# whose threads spin on the allocator's lock runs beside the lanes (the
# host tests and AddressSanitizer's std program ran before; wasip1 has no
# threads): a spinning thread that takes the core of the lock's holder
# wastes its time.
miri_i686_then_tree() {
    export CARGO_TARGET_DIR=target/miri-lane
    miri_i686
    miri_tree
}
step "Miri: Stacked Borrows; Stacked Borrows on i686, then Tree Borrows (strict provenance; two lanes, started in the background)"
in_background miri-stacked miri_stacked
in_background miri-i686-tree miri_i686_then_tree

# On wasm32 itself (wasm32-wasip1, under Node's WASI: `scripts/wasi-run.mjs`,
# cargo's runner there): the heap has wasm32-only code (the chunks' bitmap
# in 64-bit words, the order of a taken chunk's header store), which i686
# does not run. Built for speed here (the size build's step ran the build
# for size there): the runtime's unit tests, the shadow model, the
# configuration space and the direct-call suites; test programs whose
# global allocator is `Default` or `General` (over `memory.grow`, as a wasm
# program's), claimed memory, and the crate features (`memory = system`,
# the `Allocator` API). A panic aborts the module there, so the harness
# prints the failing test's output as it goes (`--nocapture`); the tests
# that spawn threads or processes are ignored (wasip1 has neither) and run
# on the other targets.
step "tests on wasm32 (wasm32-wasip1 under Node), built for speed"
wasm32_suites=(--test model --test configs --test properties --test memory_sources --test adversarial
    --test seed --test options --test checked --test checked_global --test checked_edges
    --test checked_workloads --test default_global --test general_global --test claimed)
LITE_ALLOC_TEST_BUILT_FOR=speed cargo test --target wasm32-wasip1 -p lite-alloc --lib -- --nocapture
LITE_ALLOC_TEST_BUILT_FOR=speed cargo test --target wasm32-wasip1 -p lite-alloc-tests "${wasm32_suites[@]}" -- --nocapture
cargo test --target wasm32-wasip1 -p lite-alloc-feature-tests -- --nocapture

# The speed build's shortcuts through the chunks, and wasm32's bitmap in
# 64-bit words, change code, not where blocks go: the benchmark measures
# code on the size build and time and memory on the speed build, and i686
# stands for thumb. `tests/placement.rs` prints a digest of every address
# each of its heaps returned: both builds must print the same lines, on the
# host, on i686 and on wasm32, and i686 the same as wasm32. (Each build
# but the host's for size reuses the lite-alloc of the steps above.)
step "blocks placed alike by both builds, and on i686 and wasm32"
placements() {
    local out
    out="$(cargo test -q "$@" -p lite-alloc-tests --test placement -- --nocapture --test-threads=1)" ||
        { printf '%s\n' "$out" >&2; return 1; }
    # Progress dots may precede a line: only the lines' own text.
    grep -oE 'placement [a-z_0-9]+ [0-9]+ [0-9a-f]{16}' <<<"$out" | sort
}
same_placements() {
    [[ -n "$2" && "$2" == "$3" ]] ||
        { printf 'blocks placed differently: %s\n%s\n---\n%s\n' "$1" "$2" "$3" >&2; return 1; }
}
for target in "" i686-unknown-linux-gnu wasm32-wasip1; do
    speed="$(LITE_ALLOC_TEST_BUILT_FOR=speed placements ${target:+--target "$target"})"
    size="$(CARGO_TARGET_DIR=target/size LITE_ALLOC_TEST_BUILT_FOR=size \
        placements "${built_for_size[@]}" ${target:+--target "$target"})"
    same_placements "built for speed and for size, on ${target:-the host}" "$speed" "$size"
    case "$target" in
    i686*) on_i686="$speed" ;;
    wasm32*) same_placements "on i686 and on wasm32" "$on_i686" "$speed" ;;
    esac
    printf '%s: %s lines alike\n' "${target:-host}" "$(wc -l <<<"$speed")"
done

# On i686 alone: the 32-bit words, headers and grain that users' targets
# have, and one build of the targets rather than two (AddressSanitizer ran
# the model on the host above; `scripts/fuzz.sh` fuzzes on both).
step "fuzzing, ${FUZZ_SECONDS:=10} s per target, on i686"
scripts/fuzz.sh "$FUZZ_SECONDS" i686

# The benchmark, one round, on a few allocators (each allocator's modules
# are three builds with LTO: on every allocator, the one round took the
# cores from Miri's lanes longer than anything else here): ours
# that the README's table leads with and checked General, dlmalloc and
# wasmalloc (built for wasip1 without its build script). Their modules
# build, every workload runs on each, checksums agree; the real programs
# (built without LTO, which costs each allocator's build twenty seconds or
# more and changes only their speed) on Default, General, checked General (a
# report would abort it) and dlmalloc. The native benchmark runs each
# workload once, built as the tests are. `scripts/bench.sh` is the full run:
# every allocator, the firmware table, the real programs built as shipped.
step "benchmark, one round on a few allocators (no report written)"
(cd bench && npm ci --silent --no-audit --no-fund)
node --no-turbo-fast-api-calls --expose-gc bench/run.mjs --rounds 1 --warmup 0 --no-write --real-without-lto \
    --only lite-default,lite-general,lite-coalesce,lite-general-checked,dlmalloc,wasmalloc \
    --real-only lite-default,lite-general,lite-general-checked,dlmalloc \
    >/dev/null
cargo test -q -p lite-alloc-bench-native --benches >/dev/null

step "Miri: the two lanes' results"
await miri-stacked miri-i686-tree

echo
echo "all checks passed ($(date +%T))"

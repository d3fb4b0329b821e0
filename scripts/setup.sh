#!/usr/bin/env bash
# Installs what the tests and the demo need, and fails loudly when something
# cannot be had: the pinned Rust toolchain with its components and targets
# (from rust-toolchain.toml), a 32-bit target with its C library, nightly
# with Miri and cargo-fuzz, the `wasm-bindgen` command, QEMU for the
# firmware, and Node.js for wasm.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rustup >/dev/null; then
    echo "error: rustup is required (https://rustup.rs); it installs the toolchain pinned in rust-toolchain.toml" >&2
    exit 1
fi
# Installs the toolchain of rust-toolchain.toml with its components and targets.
rustup toolchain install
rustup component add rust-src clippy rustfmt
rustup target add wasm32-unknown-unknown wasm32-wasip1 thumbv7em-none-eabihf thumbv6m-none-eabi

# The 32-bit runs of the shadow model: i686 Linux, natively (it needs a
# 32-bit C library to link, and libFuzzer, fuzzing there, a 32-bit C++
# library to build), and under Miri.
rustup target add i686-unknown-linux-gnu
have_32_bit_libraries() {
    { [ -e /usr/lib32/libc.so ] || [ -e /usr/lib/i386-linux-gnu/libc.so ]; } &&
        compgen -G '/usr/include/*/c++/*/32/bits/c++config.h' >/dev/null
}
if ! have_32_bit_libraries; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "32-bit C and C++ libraries not found: installing Debian's g++-multilib" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-multilib >/dev/null
    fi
fi
if ! have_32_bit_libraries; then
    echo "error: 32-bit C and C++ libraries (Debian's g++-multilib) are required to run the tests and fuzzing on i686-unknown-linux-gnu" >&2
    exit 1
fi

# Nightly, for Miri, AddressSanitizer and cargo-fuzz (libFuzzer), with the
# i686 target for fuzzing there.
rustup toolchain install nightly --profile minimal --component miri,rust-src
rustup target add --toolchain nightly i686-unknown-linux-gnu
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

# The `wasm-bindgen` command for examples/wasm-bindgen (tests/bindgen_example.rs):
# exactly the version of the `wasm-bindgen` crate in Cargo.lock, which the
# example pins. Built from source when missing or another version: 4 minutes
# of CPU, 7 minutes on a busy 2-core machine. Without default features: they only add TLS for the
# test runner's downloads, which nothing here uses. `--locked` first; its
# lock file may name a dependency release the registry does not have yet,
# and then the dependencies are resolved afresh (the command's version stays
# pinned).
wasm_bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wasm_bindgen" ]; then
    echo "error: no wasm-bindgen crate in Cargo.lock" >&2
    exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen" ]; then
    echo "installing wasm-bindgen-cli $wasm_bindgen (a few minutes)" >&2
    cargo install wasm-bindgen-cli --version "$wasm_bindgen" --no-default-features --locked --force ||
        cargo install wasm-bindgen-cli --version "$wasm_bindgen" --no-default-features --force
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen" ]; then
    echo "error: wasm-bindgen $wasm_bindgen is required (cargo install wasm-bindgen-cli --version $wasm_bindgen)" >&2
    exit 1
fi

# QEMU runs the firmware example (tests/firmware.rs).
if ! command -v qemu-system-arm >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "qemu-system-arm not found: installing Debian's qemu-system-arm" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm >/dev/null
    fi
fi
if ! command -v qemu-system-arm >/dev/null; then
    echo "error: qemu-system-arm is required to run the firmware example" >&2
    exit 1
fi

if ! command -v node >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "node not found: installing Debian's nodejs" >&2
        apt-get update -qq && apt-get install -y -qq nodejs >/dev/null
    fi
fi
if ! command -v node >/dev/null; then
    echo "error: Node.js (18 or later) is required to run the wasm demo and tests" >&2
    exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
    echo "error: Node.js 18 or later is required, found $(node --version)" >&2
    exit 1
fi

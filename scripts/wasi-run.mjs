#!/usr/bin/env node
// Runs a `wasm32-wasip1` program under Node's WASI: cargo's runner for that
// target (`.cargo/config.toml`), so that `cargo test --target wasm32-wasip1`
// runs the tests as wasm32 code. Arguments and environment pass through,
// the current directory is the program's `.`, and the exit code is the
// program's; a trap (a panic aborts there) is a failure with its stack.
//
// Usage: scripts/wasi-run.mjs program.wasm [args...]

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// Node 20's WASI can crash the process unless V8's fast API calls are off
// (nodejs/node#46777: a call can start a collection in the middle of one),
// as the benchmark and lite-alloc-tune also turn them off. Here the
// adversarial suite crashed Node (SIGSEGV or SIGTRAP, after or between the
// tests) in nearly every run without it. Set before any module is compiled.
setFlagsFromString('--no-turbo-fast-api-calls');

// node:wasi is experimental in Node 20 and says so on every run.
process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

const [program, ...args] = process.argv.slice(2);
if (!program) {
  console.error('usage: wasi-run.mjs program.wasm [args...]');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [program, ...args],
  env: process.env,
  preopens: { '.': '.' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(readFileSync(program));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);

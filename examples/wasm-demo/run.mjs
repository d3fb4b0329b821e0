// Runs the demo module under Node and prints what each workload did.
//
//   node run.mjs path/to/wasm_demo.wasm           human-readable
//   node run.mjs path/to/wasm_demo.wasm --check   `name args... = result` lines, for tests
import { readFileSync } from "node:fs";
import { WORKLOADS } from "./workloads.mjs";

const [path, mode] = process.argv.slice(2);
if (!path) {
  console.error("usage: node run.mjs WASM [--check]");
  process.exit(2);
}
const { instance } = await WebAssembly.instantiate(readFileSync(path), {});
const exports = instance.exports;
const check = mode === "--check";

const stats = () => new TextDecoder().decode(new Uint8Array(exports.memory.buffer, exports.demo_stats(), exports.demo_stats_len()));
if (!check) {
  const config = exports.demo_reuse() ? "#[lite_alloc(stats, large = reuse, realloc)]" : "#[lite_alloc(stats)]  (lite_alloc::Default's configuration)";
  console.log(`lite-alloc demo with ${config}`);
  console.log(`  module size ${readFileSync(path).length} bytes; memory at start ${exports.demo_memory_pages()} pages`);
}
for (const [name, symbol, args, what] of WORKLOADS) {
  const started = performance.now();
  const result = exports[symbol](...args);
  const ms = performance.now() - started;
  const pages = exports.demo_memory_pages();
  if (check) {
    console.log(`${name} ${args.join(" ")} = ${result}`);
  } else {
    console.log(`  ${what}: checksum ${result}, ${ms.toFixed(1)} ms, memory now ${pages} pages (${pages * 64} KiB)`);
    console.log(`      ${stats()}`);
  }
}
if (check) {
  console.log(`pages = ${exports.demo_memory_pages()}`);
}

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

if (!check) {
  console.log(`lite-alloc demo: ${path}`);
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
  }
}
if (check) {
  console.log(`pages = ${exports.demo_memory_pages()}`);
}

// Runs test exports of a wasm suite module, each in a fresh instance.
//
//   node run.mjs MODULE.wasm TEST...
//
// Prints `ok TEST` or `FAIL TEST: message` per test (`FAIL TEST
// [lite_alloc_misuse]: message` when the message comes from a checked
// allocator's buffer); exits 1 if any failed.
import { readFileSync } from "node:fs";

const [path, ...tests] = process.argv.slice(2);
if (!path || tests.length === 0) {
  console.error("usage: node run.mjs MODULE.wasm TEST...");
  process.exit(2);
}
const module = await WebAssembly.compile(readFileSync(path));
let failed = 0;
for (const test of tests) {
  const instance = await WebAssembly.instantiate(module, {});
  const e = instance.exports;
  if (typeof e[test] !== "function") {
    console.log(`FAIL ${test}: no such export`);
    failed++;
    continue;
  }
  try {
    e[test]();
    console.log(`ok ${test}`);
  } catch (error) {
    const read = (ptr, len) => new TextDecoder().decode(new Uint8Array(e.memory.buffer, ptr, len));
    const text = read(e.suite_message_ptr(), e.suite_message_len());
    // A checked allocator's misuse, in lite-alloc's own buffer.
    const misuse = e.lite_alloc_misuse_len ? read(e.lite_alloc_misuse_ptr(), e.lite_alloc_misuse_len()) : '';
    if (misuse && !text) console.log(`FAIL ${test} [lite_alloc_misuse]: ${misuse}`);
    else console.log(`FAIL ${test}: ${text || error}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);

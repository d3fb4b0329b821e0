// Drives the wasm-bindgen example under Node: `node run.mjs PKG_DIR`, where
// PKG_DIR is what `wasm-bindgen --target nodejs` wrote. Prints one line per
// check; tests/wasm_bindgen.rs compares them with what the same code gives
// on the host.
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node run.mjs PKG_DIR');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const example = require(path.resolve(dir, 'lite_alloc_wasm_bindgen.js'));

const text = 'the quick brown fox jumps over the lazy dog; the dog sleeps, the fox runs. '.repeat(2000);
console.log(`top_words: ${example.top_words(text, 3).split('\n').join(', ')}`);

const primes = example.primes(10000);
console.log(`primes: ${primes.constructor.name} of ${primes.length}, last ${primes[primes.length - 1]}`);

// Objects JavaScript owns, created and freed many times over: memory stays
// bounded because General reuses what they free.
let found = '';
for (let round = 0; round < 200; round++) {
  const notes = new example.Notes();
  for (let i = 0; i < 500; i++) notes.add(`note ${round}.${i}: ${'x'.repeat(i % 97)}`);
  if (round === 199) found = `${notes.bytes()} bytes, ${notes.find('199.42:').length} for one line`;
  notes.free();
}
console.log(`notes: ${found}`);
console.log(`memory pages: ${example.memory_pages()}`);

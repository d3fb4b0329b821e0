// Allocator code on wasm32, without the rest of the benchmark: the size
// probe (alloc, dealloc and realloc exported through the global allocator)
// minus the empty probe, raw and after `wasm-opt -Oz`. Code size is
// deterministic for a toolchain: run it before and after a change to the
// heap and compare.
//
//   node bench/size.mjs                 our types (every row of ours in allocators.mjs)
//   node bench/size.mjs dlmalloc talc   the allocators with these ids

import { ALLOCATORS } from './allocators.mjs';
import { probeSizes } from './build.mjs';

const ids = process.argv.slice(2);
const unknown = ids.filter((id) => !ALLOCATORS.some((a) => a.id === id));
if (unknown.length) {
  console.error(`unknown allocator ids: ${unknown.join(', ')} (see bench/allocators.mjs)`);
  process.exit(2);
}
const chosen = ids.length ? ALLOCATORS.filter((a) => ids.includes(a.id)) : ALLOCATORS.filter((a) => a.ours);
const baseline = probeSizes({ id: 'empty', features: [] }, false);
const width = Math.max(...chosen.map((a) => a.id.length));
console.log(`${'allocator'.padEnd(width)}  ${'raw B'.padStart(6)}  ${'-Oz B'.padStart(6)}`);
for (const a of chosen) {
  const code = probeSizes(a);
  console.log(`${a.id.padEnd(width)}  ${String(code.raw - baseline.raw).padStart(6)}  ${String(code.oz - baseline.oz).padStart(6)}`);
}

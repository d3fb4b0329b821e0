// Runs the module built from this folder (its path the first argument) on
// Node's worker threads over one shared memory. For each heap, four workers
// make 20,000 random calls on it at once (`run`); then the main thread frees
// what the exchange holds (`drain`) and walks the heap (`verify`). Prints a
// line per heap, and exits with failure, naming what failed, if a worker's
// checks or the walk failed or trapped.
import fs from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const HEAPS = ['bins', 'large blocks reused', 'chunks', 'a bin in front of chunks', 'checked chunks'];
const WORKERS = 4;
const CALLS = 20000;
// A worker that traps while it holds a heap's lock leaves the others
// spinning: a heap whose workers have not all answered by then has failed.
const TIMEOUT_MS = 60_000;
const FAILURES = { 1: 'null from a heap with memory to grow', 2: 'a block misaligned', 3: 'a zeroed block not zero', 4: "a block's contents changed" };

if (isMainThread) {
  if (process.argv.length !== 3) {
    console.error('usage: node run.mjs MODULE.wasm');
    process.exit(2);
  }
  const module = new WebAssembly.Module(fs.readFileSync(process.argv[2]));
  // At most the module's own maximum (4096 pages), at least what its data
  // and stacks take.
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 4096, shared: true });
  // The first instance sets up the shared memory's data; the main thread
  // keeps the linker's stack.
  const main = new WebAssembly.Instance(module, { env: { memory } }).exports;
  let failed = false;
  for (const [heap, name] of HEAPS.entries()) {
    // Each worker starts its calls once all four have their instance, so
    // that they run at once rather than one after another.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const threads = [];
    const answers = Promise.all(Array.from({ length: WORKERS }, (_, worker) => new Promise((resolve) => {
      const seed = (Math.imul(0x9e3779b9, heap * WORKERS + worker + 1) >>> 0) || 1;
      const thread = new Worker(new URL(import.meta.url), { workerData: { module, memory, gate, heap, worker, seed } });
      threads.push(thread);
      thread.once('message', (result) => resolve(result === 0 ? null : FAILURES[result] ?? `failure ${result}`));
      thread.once('error', (error) => resolve(`a worker trapped: ${error.message}`));
    })));
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), TIMEOUT_MS); });
    const results = await Promise.race([answers, late]);
    clearTimeout(timer);
    if (results === null) {
      console.log(`${name}: FAILED: the workers did not all answer within ${TIMEOUT_MS / 1000} s (one trapped holding the lock?)`);
      await Promise.all(threads.map((thread) => thread.terminate()));
      process.exit(1);
    }
    const failures = results.filter((r) => r !== null);
    try {
      const drained = main.drain(heap);
      if (drained !== 0) failures.push(`in the exchange, ${FAILURES[drained]}`);
      main.verify(heap);
    } catch (error) {
      failures.push(`draining or verify() trapped: ${error.message}`);
    }
    if (failures.length) failed = true;
    console.log(`${name}: ${WORKERS} workers x ${CALLS} calls, ${failures.length ? `FAILED: ${failures.join('; ')}` : 'every block intact, verify() passed'}`);
  }
  console.log(`memory: ${memory.buffer.byteLength / 65536} pages`);
  if (failed) process.exit(1);
  console.log('wasm32 threads: all checks passed');
} else {
  const { module, memory, gate, heap, worker, seed } = workerData;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  exports.__stack_pointer.value = exports.stack_top(worker);
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  for (let ready; (ready = Atomics.load(gate, 0)) < WORKERS;) Atomics.wait(gate, 0, ready);
  parentPort.postMessage(exports.run(heap, seed, CALLS));
}

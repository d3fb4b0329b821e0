// Runs the module built from this folder (its path the first argument) on
// Node's worker threads over one shared memory. Six phases: each heap in
// turn, then every heap at once (each allocation on a heap chosen at
// random). In each, four workers make rounds of 2,000 random calls (`run`)
// at once, until their calls have met another call in progress on the same
// heap 100,000 times (`met`: calls that waited for a lock), or for at most
// 500 rounds; then the main thread frees what the exchange holds (`drain`),
// walks each heap and allocates from it once more (`verify`). Prints a line
// per phase, and exits with failure, naming what failed, if a worker's
// checks or a walk failed or trapped, if the calls met fewer than 1,000
// times (the lock would hardly have been tested), or if no worker finished
// a round for 30 s (a hang). Then two workers, memory grown by one while
// the other spins (`stale_view_*` in the module), on a heap over wasm
// memory and on one over claimed memory: a line each.
import fs from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const HEAPS = ['bins', 'large blocks reused', 'chunks', 'a bin in front of chunks', 'checked chunks'];
const EVERY = HEAPS.length;
const WORKERS = 4;
const CALLS = 2000;
const ROUNDS = 500;
const MET_ENOUGH = 100000;
const MET_AT_LEAST = 1000;
// A worker that traps or loops while it holds a heap's lock leaves the
// others spinning: a phase in which no worker finished a round for this
// long has failed. Not a limit on the phase: the lock spins, so on a
// loaded machine a worker preempted while it holds the lock stalls the
// others for the rest of their time slices, and a phase may take many
// times its usual seconds while still making progress.
const STALL_MS = 30_000;
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
  for (const phase of [...HEAPS.keys(), EVERY]) {
    const name = phase === EVERY ? 'every heap at once' : HEAPS[phase];
    // Each worker starts its calls once all four have their instance, so
    // that they run at once rather than one after another.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    // The rounds each worker finished so far.
    const rounds = new Int32Array(new SharedArrayBuffer(4 * WORKERS));
    const threads = [];
    // What each worker answered so far, for a phase that stalls.
    const heard = new Array(WORKERS).fill(null);
    const answers = Promise.all(Array.from({ length: WORKERS }, (_, worker) => new Promise((resolve) => {
      const seed = (Math.imul(0x9e3779b9, phase * WORKERS + worker + 1) >>> 0) || 1;
      const thread = new Worker(new URL(import.meta.url), { workerData: { module, memory, gate, rounds, phase, worker, seed } });
      threads.push(thread);
      const answer = (a) => {
        heard[worker] ??= a;
        resolve(a);
      };
      thread.once('message', answer);
      thread.once('error', (error) => answer({ failure: `a worker trapped: ${error.message}`, calls: 0 }));
    })));
    const metBefore = main.met(phase);
    const done = () => rounds.reduce((sum, r) => sum + r, 0);
    let answered = null;
    for (let before = -1, now = done(); answered === null && now !== before; before = now, now = done()) {
      let timer;
      const stalled = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STALL_MS); });
      answered = await Promise.race([answers, stalled]);
      clearTimeout(timer);
    }
    if (answered === null) {
      // Which workers answered, and how: a trap in one that held a lock
      // leaves the others spinning, and only its answer says why.
      const each = heard.map((a, worker) => `worker ${worker}: ${Atomics.load(rounds, worker)} rounds, ${a === null ? 'no answer' : a.failure ?? 'passed'}`);
      console.log(`${name}: FAILED: no worker finished a round of ${CALLS} calls in ${STALL_MS / 1000} s (gate ${Atomics.load(gate, 0)} of ${WORKERS}; ${each.join('; ')})`);
      await Promise.all(threads.map((thread) => thread.terminate()));
      process.exit(1);
    }
    const failures = answered.filter((a) => a.failure !== null).map((a) => a.failure);
    const calls = answered.reduce((sum, a) => sum + a.calls, 0);
    const met = main.met(phase) - metBefore;
    try {
      const drained = main.drain();
      if (drained !== 0) failures.push(`in the exchange, ${FAILURES[drained]}`);
      for (const heap of phase === EVERY ? HEAPS.keys() : [phase]) {
        if (main.verify(heap) !== 0) failures.push(`${HEAPS[heap]} refused a block after the run`);
      }
    } catch (error) {
      failures.push(`draining or verify() trapped: ${error.message}`);
    }
    if (!failures.length && met < MET_AT_LEAST) failures.push(`the workers' calls met only ${met} times: the lock was hardly tested`);
    if (failures.length) failed = true;
    console.log(`${name}: ${calls} calls from ${WORKERS} workers, ${met} met another in progress: ${failures.length ? `FAILED: ${failures.join('; ')}` : 'every block intact, verify() passed'}`);
  }
  // Memory grown by another thread while one spins (a loop with no call,
  // as on a spin lock), in ten rounds, on a heap over wasm memory and on
  // one over claimed memory whose current region ends below the grown
  // pages: V8 may then keep the old memory size in the spinning thread's
  // instance, whose `memory.copy` and `memory.fill` into the new pages
  // trap unless the heap makes it see them. A run in which that view was
  // never stale tested nothing, and fails.
  for (const [heap, name] of ['wasm memory', 'claimed memory'].entries()) {
    main.stale_view_begin();
    const threads = [];
    const answers = Promise.all([heap === 0 ? 'stale_view_call_wasm' : 'stale_view_call_claimed', 'stale_view_grow'].map((task, worker) => new Promise((resolve) => {
      const thread = new Worker(new URL(import.meta.url), { workerData: { module, memory, task, heap, worker } });
      threads.push(thread);
      thread.once('message', resolve);
      thread.once('error', (error) => {
        resolve({ failure: `${task} trapped: ${error.message}`, threw: true });
        // The other waits for a step this one will never take.
        for (const other of threads) if (other !== thread) other.terminate();
      });
      // Stopped after the other trapped (after a message, ignored).
      thread.once('exit', () => resolve({ failure: null, threw: true }));
    })));
    const line = `memory grown while another thread spins, ${name}`;
    let timer;
    const stalled = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STALL_MS); });
    const answered = await Promise.race([answers, stalled]);
    clearTimeout(timer);
    if (answered === null) {
      console.log(`${line}: FAILED: not done in ${STALL_MS / 1000} s`);
      process.exit(1);
    }
    const failures = answered.filter((a) => a.failure !== null).map((a) => a.failure);
    const stale = answered[0].threw ? 0 : answered[0].result >> 8;
    if (!failures.length && stale === 0) failures.push("the calling thread's view of the memory was never stale: nothing was tested");
    if (failures.length) failed = true;
    console.log(`${line}: ${failures.length ? `FAILED: ${failures.join('; ')}` : `stale in ${stale} of 10 rounds, the heap copied into and cleared blocks in the new pages`}`);
  }
  console.log(`memory: ${memory.buffer.byteLength / 65536} pages`);
  if (failed) process.exit(1);
  console.log('wasm32 threads: all checks passed');
} else if (workerData.task !== undefined) {
  const { module, memory, task, heap, worker } = workerData;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  exports.__stack_pointer.value = exports.stack_top(worker);
  // The low byte is a failure (0: none); `stale_view_call` counts rounds
  // above it.
  const result = exports[task](heap);
  const failure = result & 0xff;
  parentPort.postMessage({ result, failure: failure === 0 ? null : `${task}: ${FAILURES[failure] ?? `failure ${failure}`}` });
} else {
  const { module, memory, gate, rounds, phase, worker, seed } = workerData;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  exports.__stack_pointer.value = exports.stack_top(worker);
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  for (let ready; (ready = Atomics.load(gate, 0)) < WORKERS;) Atomics.wait(gate, 0, ready);
  const metBefore = exports.met(phase);
  let failure = null;
  let round = 0;
  while (round < ROUNDS && failure === null && exports.met(phase) - metBefore < MET_ENOUGH) {
    const result = exports.run(phase, (seed + Math.imul(round, 0x6d2b79f5)) >>> 0, CALLS);
    round += 1;
    Atomics.store(rounds, worker, round);
    if (result !== 0) failure = FAILURES[result] ?? `failure ${result}`;
  }
  parentPort.postMessage({ failure, calls: round * CALLS });
}

// The benchmark: builds one wasm module per allocator, measures code size,
// speed and peak memory side by side in this one Node process, measures
// firmware code size, and writes the report (markdown tables and an SVG
// chart): in full into bench/README.md, the data and the chart into
// bench/results/, and a summary with the chart into the README.
//
//   node bench/run.mjs [--rounds N] [--warmup N] [--real-rounds N] [--no-write] [--only a,b,c]
//                      [--real-only a,b,c]   the real programs on these allocators only
//                      [--real-without-lto]  the real programs built without LTO, in a
//                                            fraction of the time (with --no-write only: a
//                                            check that they build, run and agree, not a
//                                            measurement)
//   node bench/run.mjs --report-only     re-render bench/results/results.json
//
// `bash scripts/bench.sh` installs what it needs and runs it. Every number
// printed comes from this run: nothing is copied from elsewhere.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WASI } from 'node:wasi';

import { ALLOCATORS, CORE, FIRMWARE_ALLOCATORS, REAL_PROGRAMS, WORKLOADS, TARGETS } from './allocators.mjs';
import { buildReal, buildWasm, countGrows, out, probeSizes, root, run, sizes, wasmOpt } from './build.mjs';
import { report, summary } from './report.mjs';

// Node 20's WASI can crash the process after a run unless fast API calls are
// off (Node issue 46777), and every run starts after a collection of the
// garbage the runs before it left (`collectGarbage`), which needs `gc`: run
// again with the flags that are missing.
const NODE_FLAGS = ['--no-turbo-fast-api-calls', '--expose-gc'];
const missing = NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));
if (missing.length) {
  const again = spawnSync(process.execPath, [...missing, '--no-warnings', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}
if (typeof globalThis.gc !== 'function') throw new Error('bench/run.mjs needs `gc`: run it with node --expose-gc');

const options = parseArgs(process.argv.slice(2));

function parseArgs(args) {
  const options = { rounds: 11, warmup: 2, realRounds: 5, write: true, only: null, realOnly: null, reportOnly: false, realWithoutLto: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      if (i + 1 >= args.length) throw new Error(`${arg} needs a value`);
      return args[++i];
    };
    if (arg === '--rounds') options.rounds = positive(value(), arg);
    else if (arg === '--warmup') options.warmup = Number(value());
    else if (arg === '--real-rounds') options.realRounds = positive(value(), arg);
    else if (arg === '--no-write') options.write = false;
    else if (arg === '--only') options.only = value().split(',');
    else if (arg === '--real-only') options.realOnly = value().split(',');
    else if (arg === '--report-only') options.reportOnly = true;
    else if (arg === '--real-without-lto') options.realWithoutLto = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (options.realWithoutLto && options.write) throw new Error('--real-without-lto needs --no-write: its times are not the programs as shipped');
  return options;
}

function positive(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a whole number >= 1`);
  return n;
}

/// The real programs' input files: the JSON document from npm, and syn's
/// largest source file from the dependency cargo fetched.
function realInputs() {
  const json = path.join(root, 'bench', 'node_modules', '@mdn', 'browser-compat-data', 'data.json');
  const metadata = JSON.parse(run('cargo', ['metadata', '--locked', '--format-version', '1', '--manifest-path', path.join(root, 'bench', 'real', 'Cargo.toml')]));
  const syn = metadata.packages.find((p) => p.name === 'syn');
  const expr = path.join(path.dirname(syn.manifest_path), 'src', 'expr.rs');
  for (const file of [json, expr]) if (!fs.existsSync(file)) throw new Error(`missing input ${file}`);
  return { json, syn: expr };
}

/// Runs one real program in a fresh WASI instance: its time, the pages of
/// memory it ended with, the `memory.grow` instructions it executed
/// (counted through the imports that `countGrows` put around each), and
/// the checksum it printed.
function runReal(compiled, program, inputs) {
  const args = ['real', program.name];
  const preopens = {};
  if (program.input) {
    const file = inputs[program.input];
    preopens['/input'] = path.dirname(file);
    args.push(`/input/${path.basename(file)}`);
  }
  const stdoutPath = path.join(out, 'real-stdout.txt');
  const stdout = fs.openSync(stdoutPath, 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args, preopens, stdout, returnOnExit: true });
    let grows = 0;
    // The pages the counted calls added: `pre` sees a call's delta, `post`
    // whether it succeeded.
    let asked = 0;
    let grownPages = 0;
    const env = {
      memory_grow_pre: (_id, delta) => {
        grows++;
        asked = delta;
        return delta;
      },
      memory_grow_post: (_id, previous) => {
        if (previous !== -1) grownPages += asked;
        return previous;
      },
    };
    collectGarbage();
    const instance = new WebAssembly.Instance(compiled, { ...wasi.getImportObject(), env });
    const initial = instance.exports.memory.buffer.byteLength / 65536;
    const start = process.hrtime.bigint();
    const code = wasi.start(instance);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (code !== 0) throw new Error(`exit status ${code}`);
    const pages = instance.exports.memory.buffer.byteLength / 65536;
    // Memory grows only through `memory.grow` in the module (the host grows
    // none here): pages that the counted calls did not add were grown by a
    // call the instrumentation missed.
    if (pages - initial !== grownPages) throw new Error(`memory grew from ${initial} to ${pages} pages, but the memory.grow calls counted added ${grownPages}`);
    return { ms, pages, grows, checksum: fs.readFileSync(stdoutPath, 'utf8').trim() };
  } finally {
    fs.closeSync(stdout);
  }
}

/// `items` in an order fixed by `round` (a Fisher-Yates shuffle driven by
/// a small generator seeded with it): every run of the benchmark takes the
/// same orders, and each round another.
function shuffled(items, round) {
  const order = [...items];
  let state = (round + 1) * 0x9e3779b1;
  for (let i = order.length - 1; i > 0; i--) {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) >>> 0;
    state = (state ^ (state >>> 12)) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/// Collects the garbage the runs before left (their instances, and memories
/// of up to hundreds of megabytes) before the next run starts, outside its
/// time, then waits until V8's threads have given that memory back to the
/// system: until the process's resident memory stops falling (by less than
/// a megabyte in 2 ms), 200 ms at most. Twice: a real program's instance,
/// and so its memory, stays reachable from node:wasi's `WASI` object until
/// a second collection.
///
/// Left to V8, the garbage is collected when V8 decides (often while the
/// next instance is made), and the memories are given back by its threads
/// while a run is being timed: about 250 MB once the real programs had run,
/// 10 to 15 ms of work beside the run. That made one workload of one
/// allocator three times as slow in a round, and often in the rounds after
/// (dlmalloc's `small_objects` 78 ns to 278, rlsf's `btree` 350 to 870,
/// General's `ratchet` 1300 to 2900), which decided medians. Collected but
/// not waited for, the memory is given back while the next run faults in
/// its own fresh pages: `zeroed`, which times 2000 buffers in under a
/// millisecond, then took longer for every allocator (General's 490 to 550
/// ns a buffer instead of about 370). What a run's own growth costs
/// (collections included) stays in its time.
function collectGarbage() {
  globalThis.gc();
  globalThis.gc();
  const MB = 1 << 20;
  let rss = process.memoryUsage.rss();
  for (let waited = 0; waited < 200; waited += 2) {
    Atomics.wait(PAUSE, 0, 0, 2);
    const now = process.memoryUsage.rss();
    if (now > rss - MB) break;
    rss = now;
  }
}

/// Nothing ever notifies it: `Atomics.wait` on it is a sleep.
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function geomean(values) {
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/// Section sizes of a 32-bit little-endian ELF file, and `memBuiltins`: the
/// bytes of the functions of compiler_builtins' mem module (memcpy, memset
/// and their ARM EABI entry points) in it.
function elfSections(file) {
  const elf = fs.readFileSync(file);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 1) throw new Error(`${file}: not a 32-bit ELF file`);
  const shoff = elf.readUInt32LE(0x20);
  const shentsize = elf.readUInt16LE(0x2e);
  const shnum = elf.readUInt16LE(0x30);
  const shstrndx = elf.readUInt16LE(0x32);
  const header = (i) => shoff + i * shentsize;
  const names = elf.readUInt32LE(header(shstrndx) + 0x10);
  const sections = {};
  let symtab = -1;
  for (let i = 0; i < shnum; i++) {
    const at = names + elf.readUInt32LE(header(i));
    const name = elf.toString('latin1', at, elf.indexOf(0, at));
    sections[name] = (sections[name] ?? 0) + elf.readUInt32LE(header(i) + 0x14);
    if (elf.readUInt32LE(header(i) + 4) === 2) symtab = i;
  }
  if (symtab < 0) throw new Error(`${file}: no symbol table`);
  const offset = elf.readUInt32LE(header(symtab) + 0x10);
  const size = elf.readUInt32LE(header(symtab) + 0x14);
  const strings = elf.readUInt32LE(header(elf.readUInt32LE(header(symtab) + 0x18)) + 0x10);
  const memBuiltin = /^(__aeabi_mem(cpy|move|set|clr)[48]?|mem(cpy|move|set|cmp)|bcmp|.*17compiler_builtins3mem.*)$/;
  sections.memBuiltins = 0;
  for (let at = offset; at < offset + size; at += 16) {
    const info = elf[at + 12];
    if ((info & 0xf) !== 2) continue; // functions only
    const nameAt = strings + elf.readUInt32LE(at);
    const name = elf.toString('latin1', nameAt, elf.indexOf(0, nameAt));
    if (memBuiltin.test(name)) sections.memBuiltins += elf.readUInt32LE(at + 8);
  }
  return sections;
}

function firmwareSizes() {
  const dir = path.join(root, 'bench', 'firmware-probe');
  const measure = (features) => {
    // The target directory named, as in `buildWasm`.
    const target = path.join(dir, 'target');
    const args = ['build', '--quiet', '--locked', '--release', '--target-dir', target];
    if (features.length) args.push('--features', features.join(','));
    run('cargo', args, { cwd: dir });
    const elf = path.join(target, 'thumbv7em-none-eabihf', 'release', 'firmware-probe');
    const sections = elfSections(elf);
    return { text: sections['.text'] ?? 0, rodata: sections['.rodata'] ?? 0, mem: sections.memBuiltins };
  };
  const base = measure([]);
  return FIRMWARE_ALLOCATORS.map((a) => {
    const probe = measure(['exports', a.feature]);
    const text = probe.text - base.text;
    return { ...a, text, own: text - (probe.mem - base.mem), rodata: probe.rodata - base.rodata };
  });
}

function main() {
  if (options.reportOnly) {
    write(JSON.parse(fs.readFileSync(path.join(root, 'bench', 'results', 'results.json'), 'utf8')));
    return;
  }
  fs.mkdirSync(out, { recursive: true });
  const allocators = ALLOCATORS.filter((a) => !options.only || options.only.includes(a.id));
  const rustc = run('rustc', ['--version']).trim();
  const node = process.version;
  const binaryen = run(wasmOpt, ['--version']).trim();
  // The commit measured, so that a later run can name what it compares
  // with (`+` when the work tree had changes).
  const commit = run('git', ['rev-parse', '--short', 'HEAD']).trim() + (run('git', ['status', '--porcelain', '--untracked-files=no']).trim() ? '+' : '');

  console.error(`building ${allocators.length} allocators' modules ...`);
  const baseline = probeSizes({ id: 'empty', features: [] }, false);
  for (const a of allocators) {
    const code = probeSizes(a);
    a.code = { raw: code.raw - baseline.raw, oz: code.oz - baseline.oz };
    a.module = sizes(buildWasm('lite-alloc-bench-wasm', 'lite_alloc_bench_wasm', 'wasm', a));
    const fast = buildWasm('lite-alloc-bench-wasm', 'lite_alloc_bench_wasm', 'wasm-speed', a);
    a.compiled = new WebAssembly.Module(fs.readFileSync(fast));
    if (a.real !== false && (!options.realOnly || options.realOnly.includes(a.id))) a.realCompiled = new WebAssembly.Module(fs.readFileSync(countGrows(buildReal(a, { lto: !options.realWithoutLto }))));
  }
  const inputs = realInputs();

  // Speed and memory: a fresh instance for every run, after a collection of
  // the garbage the runs before left; rounds interleave the allocators, each
  // round in an order of its own (a fixed shuffle per round), so that a
  // burst of load on this shared machine spreads over all of them and no
  // allocator always follows the same one.
  const samples = new Map(allocators.map((a) => [a.id, WORKLOADS.map(() => [])]));
  const pages = new Map(allocators.map((a) => [a.id, WORKLOADS.map(() => 0)]));
  const checksums = WORKLOADS.map(() => new Map());
  const realSamples = new Map(allocators.map((a) => [a.id, REAL_PROGRAMS.map(() => [])]));
  const realPages = new Map(allocators.map((a) => [a.id, REAL_PROGRAMS.map(() => 0)]));
  const realGrows = new Map(allocators.map((a) => [a.id, REAL_PROGRAMS.map(() => new Set())]));
  const realChecksums = REAL_PROGRAMS.map(() => new Map());
  const failures = [];
  const total = options.warmup + options.rounds;
  for (let round = 0; round < total; round++) {
    console.error(`round ${round + 1}/${total}${round < options.warmup ? ' (warm-up)' : ''}`);
    for (const a of shuffled(allocators, round)) {
      WORKLOADS.forEach((w, i) => {
        collectGarbage();
        const instance = new WebAssembly.Instance(a.compiled, {});
        const runIt = instance.exports[`run_${w}`];
        let sum;
        const start = process.hrtime.bigint();
        try {
          sum = runIt();
        } catch (error) {
          failures.push(`${a.id} ${w}: ${error.message}`);
          return;
        }
        const ns = Number(process.hrtime.bigint() - start);
        const ops = Number(instance.exports[`ops_${w}`]());
        pages.get(a.id)[i] = Math.max(pages.get(a.id)[i], instance.exports.memory.buffer.byteLength / 65536);
        checksums[i].set(`${a.id} (round ${round + 1})`, sum);
        if (round >= options.warmup) samples.get(a.id)[i].push(ns / ops);
      });
      // The real programs take 0.1 to 8 s a run: they run in the last
      // rounds only, after one warm-up round.
      const realRounds = Math.min(options.realRounds, options.rounds);
      const realStart = total - realRounds - Math.min(1, options.warmup);
      if (!a.realCompiled || round < realStart) continue;
      REAL_PROGRAMS.forEach((program, i) => {
        let result;
        try {
          result = runReal(a.realCompiled, program, inputs);
        } catch (error) {
          failures.push(`${a.id} real ${program.name}: ${error.message}`);
          return;
        }
        realPages.get(a.id)[i] = Math.max(realPages.get(a.id)[i], result.pages);
        realGrows.get(a.id)[i].add(result.grows);
        realChecksums[i].set(`${a.id} (round ${round + 1})`, result.checksum);
        if (round >= total - realRounds) realSamples.get(a.id)[i].push(result.ms);
      });
    }
  }
  if (failures.length) {
    throw new Error(`workloads failed:\n  ${[...new Set(failures)].join('\n  ')}`);
  }
  const agree = (name, sums) => {
    const distinct = new Set([...sums.values()].map(String));
    if (distinct.size > 1) {
      const all = [...sums].map(([id, sum]) => `${id}=${sum}`).join(', ');
      throw new Error(`checksums of ${name} differ between allocators: ${all}`);
    }
  };
  WORKLOADS.forEach((w, i) => agree(w, checksums[i]));
  REAL_PROGRAMS.forEach((p, i) => agree(`real ${p.name}`, realChecksums[i]));

  const reference = allocators.find((a) => a.id === 'dlmalloc');
  for (const a of allocators) {
    const s = samples.get(a.id);
    a.speed = s.map((values) => {
      const m = median(values);
      const deviation = median(values.map((v) => Math.abs(v - m)));
      return { median: m, spread: m ? deviation / m : 0 };
    });
    a.pages = pages.get(a.id);
    if (a.realCompiled) {
      a.programs = realSamples.get(a.id).map((values) => {
        const m = median(values);
        return { ms: m, spread: m ? median(values.map((v) => Math.abs(v - m))) / m : 0 };
      });
      a.programPages = realPages.get(a.id);
      // The same program makes the same requests in every run, so the same
      // calls: the most seen, should runs ever differ.
      a.programGrows = realGrows.get(a.id).map((counts) => Math.max(...counts));
      a.programGrowsVary = realGrows.get(a.id).map((counts) => counts.size > 1);
    }
  }
  for (const a of allocators) {
    if (!reference) break;
    a.ratios = a.speed.map((s, i) => s.median / reference.speed[i].median);
    a.geomean = geomean(a.ratios.slice(0, CORE));
    a.pageRatios = a.pages.map((p, i) => p / reference.pages[i]);
    if (a.programs && reference.programs) {
      a.programRatios = a.programs.map((r, i) => r.ms / reference.programs[i].ms);
      a.programPageRatios = a.programPages.map((p, i) => p / reference.programPages[i]);
      a.programGrowRatios = a.programGrows.map((g, i) => g / reference.programGrows[i]);
    }
  }

  console.error('firmware probe (thumbv7em-none-eabihf) ...');
  const firmware = options.only ? [] : firmwareSizes();

  const result = {
    date: new Date().toISOString().slice(0, 10),
    commit,
    machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    rustc,
    node: `Node ${node} (V8 ${process.versions.v8})`,
    binaryen,
    rounds: options.rounds,
    warmup: options.warmup,
    realRounds: Math.min(options.realRounds, options.rounds),
    allocators,
    firmware,
    targets: TARGETS,
  };
  write(result);
}

/// Prints the report and, unless told not to, writes it: in full between
/// the markers of bench/README.md, the data and the chart to bench/results/,
/// and the summary between the markers of README.md.
function write(result) {
  const baselineFile = path.join(root, 'bench', 'results', TARGETS.baseline);
  const baseline = fs.existsSync(baselineFile) ? JSON.parse(fs.readFileSync(baselineFile, 'utf8')) : null;
  const { markdown, svg } = report(result, 'results/chart.svg', baseline);
  console.log(markdown);
  if (!options.write) return;
  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(result, (k, v) => (k === 'compiled' || k === 'realCompiled' ? undefined : typeof v === 'bigint' ? String(v) : v), 2);
  fs.writeFileSync(path.join(dir, 'results.json'), json + '\n');
  fs.writeFileSync(path.join(dir, 'chart.svg'), svg);
  replaceSection(path.join(root, 'bench', 'README.md'), markdown);
  replaceSection(path.join(root, 'README.md'), summary(result, 'bench/results/chart.svg', 'bench/README.md'));
  console.error('wrote bench/README.md, bench/results/results.json and chart.svg, and the summary in README.md');
}

/// Replaces what lies between `<!-- bench:begin -->` and `<!-- bench:end -->`.
function replaceSection(file, text) {
  const content = fs.readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const from = content.indexOf(begin);
  const to = content.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} ... ${end} section`);
  fs.writeFileSync(file, content.slice(0, from + begin.length) + '\n' + text + '\n' + content.slice(to));
}

main();

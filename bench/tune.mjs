// Checks lite-alloc-tune's predictions against measurements: for every
// configuration in the tool's reports (bench/results/tune-PROGRAM.txt),
// builds the real programs (bench/real) with it as the global allocator
// (lite-alloc-bench-allocators' `candidate` feature), runs the program once
// under node:wasi and compares the pages it ends with to the pages the tool
// predicted; dlmalloc too.
//
//   node bench/tune.mjs PROGRAM...        (e.g. json regex syn)
//
// Writes bench/results/tune-check.md and prints it. Each distinct
// configuration is one build of bench/real (about half a minute): the three
// case studies take half an hour.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

import { REAL_PROGRAMS } from './allocators.mjs';

// Node 20's WASI can crash the process after a run unless fast API calls are
// off (Node issue 46777): run again with the flag if it is missing.
if (!process.execArgv.includes('--no-turbo-fast-api-calls')) {
  const { spawnSync } = await import('node:child_process');
  const again = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'bench', 'results');
const out = path.join(root, 'target', 'bench-tune');
const programs = process.argv.slice(2);
if (programs.length === 0) {
  console.error('usage: node bench/tune.mjs PROGRAM...');
  process.exit(2);
}

/// The rows of a report's table: predicted pages and configuration (the
/// attribute's arguments; null: dlmalloc).
function rows(report) {
  const lines = report.split('\n');
  const from = lines.findIndex((l) => l.startsWith('Every configuration replayed'));
  if (from < 0) throw new Error('no table of configurations in the report');
  const found = [];
  for (const line of lines.slice(from + 1)) {
    const fields = line.trim().split(/\s+/);
    const pages = Number(fields[0]);
    if (!Number.isInteger(pages) || fields.length < 7) continue;
    let name = fields.slice(6).join(' ').replace(/\s*<- recommended$/, '');
    const recommended = line.endsWith('<- recommended');
    let args;
    if (name.startsWith('dlmalloc')) args = null;
    else if (name.startsWith('lite_alloc::')) {
      args = name.slice(name.indexOf('(') + 1, name.lastIndexOf(')'));
      if (args === 'no arguments') args = '';
    } else args = name;
    found.push({ pages, args, name, recommended });
  }
  return found;
}

/// The programs' input files, as bench/run.mjs finds them.
function inputs() {
  const json = path.join(root, 'bench', 'node_modules', '@mdn', 'browser-compat-data', 'data.json');
  const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--locked', '--format-version', '1', '--manifest-path', path.join(root, 'bench', 'real', 'Cargo.toml')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }).toString());
  const syn = metadata.packages.find((p) => p.name === 'syn');
  return { json, syn: path.join(path.dirname(syn.manifest_path), 'src', 'expr.rs') };
}

/// bench/real built with `args` as its allocator (null: dlmalloc); the module.
function build(args, n) {
  const dir = path.join(root, 'bench', 'real');
  // The target directory named, so that a `CARGO_TARGET_DIR` in the
  // environment cannot leave a stale module where it is read.
  const target = path.join(dir, 'target');
  const cargo = ['build', '--quiet', '--locked', '--release', '--target', 'wasm32-wasip1', '--target-dir', target];
  const env = { ...process.env };
  if (args !== null) {
    cargo.push('--features', 'lite-alloc-bench-allocators/candidate');
    env.LITE_ALLOC_CANDIDATE = args;
  }
  execFileSync('cargo', cargo, { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const copy = path.join(out, `real-${n}.wasm`);
  fs.copyFileSync(path.join(target, 'wasm32-wasip1', 'release', 'real.wasm'), copy);
  return copy;
}

/// Runs a real program in a fresh instance: the pages it ended with.
function pages(module, name, files) {
  const program = REAL_PROGRAMS.find((p) => p.name === name);
  const args = ['real', name];
  const preopens = {};
  if (program.input) {
    const file = files[program.input];
    preopens['/input'] = path.dirname(file);
    args.push(`/input/${path.basename(file)}`);
  }
  const stdout = fs.openSync(path.join(out, 'stdout.txt'), 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args, preopens, stdout, returnOnExit: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(module)), wasi.getImportObject());
    const code = wasi.start(instance);
    if (code !== 0) throw new Error(`${name} exited with ${code}`);
    return instance.exports.memory.buffer.byteLength / 65536;
  } finally {
    fs.closeSync(stdout);
  }
}

fs.mkdirSync(out, { recursive: true });
const files = inputs();
const reports = programs.map((p) => ({ program: p, rows: rows(fs.readFileSync(path.join(results, `tune-${p}.txt`), 'utf8')) }));
const configs = [...new Set(reports.flatMap((r) => r.rows.map((row) => (row.args === null ? '\u0000dlmalloc' : row.args))))];
const measured = new Map();
configs.forEach((config, n) => {
  const args = config === '\u0000dlmalloc' ? null : config;
  console.error(`[${n + 1}/${configs.length}] ${args ?? 'dlmalloc'}`);
  const module = build(args, n);
  for (const r of reports) {
    if (r.rows.some((row) => row.args === args)) measured.set(`${r.program}\u0000${config}`, pages(module, r.program, files));
  }
  fs.rmSync(module);
});

const lines = [
  'Predictions of lite-alloc-tune against measurements (`node bench/tune.mjs ' + programs.join(' ') + '`): every configuration in the reports `bench/results/tune-PROGRAM.txt`, built into the real program as its global allocator, run once under node:wasi; pages it ended with.',
  '',
];
let worst = 0;
for (const r of reports) {
  lines.push(`**\`${r.program}\`**`, '', '| configuration | predicted | measured | difference |', '|---|---:|---:|---:|');
  for (const row of r.rows) {
    const m = measured.get(`${r.program}\u0000${row.args === null ? '\u0000dlmalloc' : row.args}`);
    const diff = (row.pages - m) / m;
    worst = Math.max(worst, Math.abs(diff));
    lines.push(`| ${row.name}${row.recommended ? ' (recommended)' : ''} | ${row.pages} | ${m} | ${(diff * 100).toFixed(1)}% |`);
  }
  lines.push('');
}
lines.push(`The largest difference: ${(worst * 100).toFixed(1)}%.`);
const text = lines.join('\n') + '\n';
fs.writeFileSync(path.join(results, 'tune-check.md'), text);
console.log(text);

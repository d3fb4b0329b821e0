// Records the allocations of the real programs (bench/real built with its
// `record` feature) under node:wasi, for lite-alloc-tune.
//
//   node bench/record.mjs REAL.wasm OUT_DIR PROGRAM...
//
// Each program gets its input (the benchmark's, see bench/allocators.mjs)
// preopened at /input, and OUT_DIR preopened at /out, where it streams its
// trace to /out/PROGRAM.trace as it runs. Prints the trace's size and the
// pages of memory the recording run ended with.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

import { REAL_PROGRAMS } from './allocators.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [module, outDir, ...programs] = process.argv.slice(2);
if (!module || !outDir || programs.length === 0) {
  console.error('usage: node bench/record.mjs REAL.wasm OUT_DIR PROGRAM...');
  process.exit(2);
}

/// The input files of the real programs, as bench/run.mjs finds them: the
/// JSON document from npm, and syn's largest source file.
function inputs() {
  const json = path.join(root, 'bench', 'node_modules', '@mdn', 'browser-compat-data', 'data.json');
  const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--locked', '--format-version', '1', '--manifest-path', path.join(root, 'bench', 'real', 'Cargo.toml')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }).toString());
  const syn = metadata.packages.find((p) => p.name === 'syn');
  return { json, syn: path.join(path.dirname(syn.manifest_path), 'src', 'expr.rs') };
}

fs.mkdirSync(outDir, { recursive: true });
const files = inputs();
const compiled = new WebAssembly.Module(fs.readFileSync(module));
for (const name of programs) {
  const program = REAL_PROGRAMS.find((p) => p.name === name);
  if (!program) throw new Error(`no real program ${name}`);
  const args = ['real', name];
  const preopens = { '/out': path.resolve(outDir) };
  if (program.input) {
    const file = files[program.input];
    preopens['/input'] = path.dirname(file);
    args.push(`/input/${path.basename(file)}`);
  }
  const wasi = new WASI({ version: 'preview1', args, preopens, returnOnExit: true, stdout: fs.openSync('/dev/null', 'w') });
  const instance = new WebAssembly.Instance(compiled, wasi.getImportObject());
  const code = wasi.start(instance);
  if (code !== 0) throw new Error(`${name} exited with ${code}`);
  const bytes = fs.statSync(path.join(outDir, `${name}.trace`)).size;
  const pages = instance.exports.memory.buffer.byteLength / 65536;
  console.error(`recorded ${name}: a trace of ${bytes} bytes; the recording run ended with ${pages} pages of memory`);
}

// Records the allocations of the real programs (bench/real built with its
// `record` feature) under node:wasi, for lite-alloc-tune.
//
//   node bench/record.mjs REAL.wasm OUT_DIR INPUT_FILE PROGRAM...
//
// Each program reads INPUT_FILE and writes OUT_DIR/PROGRAM.trace.
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';

const [module, outDir, input, ...programs] = process.argv.slice(2);
if (!module || !outDir || !input || programs.length === 0) {
  console.error('usage: node bench/record.mjs REAL.wasm OUT_DIR INPUT_FILE PROGRAM...');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const compiled = new WebAssembly.Module(fs.readFileSync(module));
for (const program of programs) {
  const wasi = new WASI({
    version: 'preview1',
    args: ['real', program, `/input/${path.basename(input)}`],
    preopens: { '/input': path.dirname(path.resolve(input)), '/out': path.resolve(outDir) },
    returnOnExit: true,
  });
  const code = wasi.start(new WebAssembly.Instance(compiled, wasi.getImportObject()));
  if (code !== 0) throw new Error(`${program} exited with ${code}`);
  console.error(`recorded ${program}: ${fs.statSync(path.join(outDir, `${program}.trace`)).size} bytes`);
}

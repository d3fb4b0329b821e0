// Runs lite-alloc-tune's replay program under node:wasi, in a fresh
// instance per candidate, one after the other:
//
//   node run.mjs REPLAY.wasm SCRIPT WHICH...
//
// The program prints one line per candidate on stdout.
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';

const [wasm, script, ...which] = process.argv.slice(2);
const module = new WebAssembly.Module(fs.readFileSync(wasm));
for (const candidate of which) {
  const wasi = new WASI({
    version: 'preview1',
    args: ['replay', candidate, `/script/${path.basename(script)}`],
    preopens: { '/script': path.dirname(path.resolve(script)) },
    returnOnExit: true,
  });
  const code = wasi.start(new WebAssembly.Instance(module, wasi.getImportObject()));
  if (code !== 0) {
    console.error(`the replay of candidate ${candidate} exited with ${code}`);
    process.exit(1);
  }
}

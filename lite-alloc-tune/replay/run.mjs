// Runs lite-alloc-tune's replay program under node:wasi, in a fresh
// instance per candidate, one after the other:
//
//   node run.mjs REPLAY.wasm SCRIPT WHICH...
//
// The program prints one line per candidate on stdout.
import fs from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { WASI } from 'node:wasi';

// Node 20's WASI calls through V8's fast API path can crash the process in
// a garbage collection (SIGSEGV or SIGTRAP: nodejs/node#53087), which a
// program that reads and allocates as it goes, as the replay does, can
// meet; the slow path is correct. Set before the module is compiled.
setFlagsFromString('--no-turbo-fast-api-calls');

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

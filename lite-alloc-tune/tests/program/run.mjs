// Runs the test program under node:wasi with /out preopened at OUT_DIR;
// prints the pages of memory it ended with.
//
//   node run.mjs PROGRAM.wasm OUT_DIR
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';

const [module, out] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: ['program'], preopens: { '/out': out }, returnOnExit: true, stdout: fs.openSync(path.join(out, 'stdout.txt'), 'w') });
const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(module)), wasi.getImportObject());
const code = wasi.start(instance);
if (code !== 0) throw new Error(`the program exited with ${code}`);
console.log(instance.exports.memory.buffer.byteLength / 65536);

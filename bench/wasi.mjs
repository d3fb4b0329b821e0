// node:wasi's `WASI`, for the scripts that run wasm32-wasip1 programs, with
// V8's fast API calls off: in Node 20 a WASI call made through that path
// can crash the process in a garbage collection (SIGSEGV, SIGTRAP or an
// abort: nodejs/node#53087). A real program run outside the benchmark's
// harness crashed that way in every attempt; with the flag, never. The
// programs make few WASI calls (their input, their checksum), so what the
// benchmark times does not change. Set on import, before any module is
// compiled.
import { setFlagsFromString } from 'node:v8';
import { WASI } from 'node:wasi';

setFlagsFromString('--no-turbo-fast-api-calls');

export { WASI };

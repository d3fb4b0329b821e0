// Building the benchmark's modules and measuring their code, shared by
// run.mjs (the whole benchmark) and size.mjs (code size only).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const out = path.join(root, 'target', 'bench');
export const wasmOpt = path.join(root, 'bench', 'node_modules', '.bin', 'wasm-opt');

export function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], ...opts }).toString();
}

/// Builds `pkg` for wasm32 with the allocator's features and a cargo profile
/// (`wasm`: opt-level "z"; `wasm-speed`: opt-level 3); returns the module's path.
export function buildWasm(pkg, artifact, profile, allocator, extraFeatures = []) {
  fs.mkdirSync(out, { recursive: true });
  const features = [...allocator.features.map((f) => `lite-alloc-bench-allocators/${f}`), ...extraFeatures];
  const args = ['build', '--quiet', '--locked', '--profile', profile, '--target', 'wasm32-unknown-unknown', '-p', pkg];
  if (features.length) args.push('--features', features.join(','));
  run('cargo', args);
  const built = path.join(root, 'target', 'wasm32-unknown-unknown', profile, `${artifact}.wasm`);
  const copy = path.join(out, `${artifact}-${profile}-${allocator.id}.wasm`);
  fs.copyFileSync(built, copy);
  return copy;
}

/// Builds the real programs (bench/real) for wasm32-wasip1 with the
/// allocator's features; returns the module's path.
export function buildReal(allocator) {
  fs.mkdirSync(out, { recursive: true });
  const dir = path.join(root, 'bench', 'real');
  const args = ['build', '--quiet', '--locked', '--release', '--target', 'wasm32-wasip1'];
  if (allocator.features.length) args.push('--features', allocator.features.map((f) => `lite-alloc-bench-allocators/${f}`).join(','));
  run('cargo', args, { cwd: dir });
  const copy = path.join(out, `real-${allocator.id}.wasm`);
  fs.copyFileSync(path.join(dir, 'target', 'wasm32-wasip1', 'release', 'real.wasm'), copy);
  return copy;
}

/// Raw and `wasm-opt -Oz` sizes of a module.
export function sizes(file) {
  const optimised = file.replace(/\.wasm$/, '.oz.wasm');
  run(wasmOpt, ['-Oz', '--all-features', file, '-o', optimised]);
  return { raw: fs.statSync(file).size, oz: fs.statSync(optimised).size };
}

/// An allocator's code on wasm32: the size probe (alloc, dealloc and
/// realloc exported) minus the empty probe, raw and after `wasm-opt -Oz`.
/// `baseline` is `probeSizes` of the empty probe, measured once.
export function probeSizes(allocator, exports = true) {
  return sizes(buildWasm('lite-alloc-size-probe', 'lite_alloc_size_probe', 'wasm', allocator, exports ? ['lite-alloc-size-probe/exports'] : []));
}

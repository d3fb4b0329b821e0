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
  // The target directory is named, so that a `CARGO_TARGET_DIR` in the
  // environment cannot send the build elsewhere while the module is read
  // from here (a stale module, measured as if it were this one).
  const target = path.join(root, 'target');
  const args = ['build', '--quiet', '--locked', '--profile', profile, '--target', 'wasm32-unknown-unknown', '--target-dir', target, '-p', pkg];
  if (features.length) args.push('--features', features.join(','));
  run('cargo', args);
  const built = path.join(target, 'wasm32-unknown-unknown', profile, `${artifact}.wasm`);
  const copy = path.join(out, `${artifact}-${profile}-${allocator.id}.wasm`);
  fs.copyFileSync(built, copy);
  return copy;
}

/// Builds the real programs (bench/real) for wasm32-wasip1 with the
/// allocator's features; returns the module's path. With `lto: false`, the
/// release profile's LTO is off and its codegen units are cargo's default:
/// a build in seconds rather than twenty or more, for a check that the programs
/// run, not for their times.
///
/// An allocator with `wasiWithoutBuildScript` names a crate whose build
/// script cargo rejects on this target: wasmalloc 0.1.1's prints
/// `cargo::rustc-link-arg-tests` on wasi (a link argument for its own test
/// binaries), and cargo refuses that instruction from a package without test
/// targets, which a published crate used as a dependency is. The argument
/// would reach none of the crate's code, so the crate is built from the same
/// published sources (the registry's unmodified copy, which cargo fetched)
/// without that script: its manifest, less `build` and the profiles a
/// dependency ignores, is written under target/bench, and a copy of
/// bench/real's manifest and lockfile there patches crates.io's crate with
/// it. Nothing of the crate is copied into this repository.
export function buildReal(allocator, { lto = true } = {}) {
  fs.mkdirSync(out, { recursive: true });
  const dir = path.join(root, 'bench', 'real');
  const features = allocator.features.map((f) => `lite-alloc-bench-allocators/${f}`);
  const args = ['build', '--quiet', '--release', '--target', 'wasm32-wasip1', '--target-dir', path.join(dir, 'target')];
  if (features.length) args.push('--features', features.join(','));
  let cwd = dir;
  if (allocator.wasiWithoutBuildScript) {
    cwd = withoutBuildScript(allocator.wasiWithoutBuildScript, features);
  } else {
    args.push('--locked');
  }
  const env = lto ? process.env : { ...process.env, CARGO_PROFILE_RELEASE_LTO: 'false', CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '16' };
  run('cargo', args, { cwd, env });
  const copy = path.join(out, `real-${allocator.id}.wasm`);
  fs.copyFileSync(path.join(dir, 'target', 'wasm32-wasip1', 'release', 'real.wasm'), copy);
  return copy;
}

/// Writes the crate `name` without its build script, and a copy of
/// bench/real that uses it (see `buildReal`); returns the copy's directory.
function withoutBuildScript(name, features) {
  const real = path.join(root, 'bench', 'real');
  const args = ['metadata', '--locked', '--format-version', '1', '--manifest-path', path.join(real, 'Cargo.toml')];
  if (features.length) args.push('--features', features.join(','));
  const pkg = JSON.parse(run('cargo', args)).packages.find((p) => p.name === name && p.source?.startsWith('registry+'));
  if (!pkg) throw new Error(`${name} is not a registry dependency of bench/real with ${features.join(',')}`);
  const source = path.dirname(pkg.manifest_path);
  const crate = path.join(out, `${name}-without-build-script`);
  fs.mkdirSync(crate, { recursive: true });
  // The published (normalised) manifest: `build` off, the library's path
  // made absolute, `[profile.*]` tables dropped (a dependency's are
  // ignored, with a warning).
  let manifest = fs.readFileSync(pkg.manifest_path, 'utf8');
  if (!/^build = "build\.rs"$/m.test(manifest)) throw new Error(`${pkg.manifest_path}: no build = "build.rs" to turn off`);
  manifest = manifest.replace(/^build = "build\.rs"$/m, 'build = false');
  const lib = pkg.targets.find((t) => t.kind.includes('lib') || t.kind.includes('rlib'));
  manifest = manifest.replace(/^path = "src\/lib\.rs"$/m, `path = ${JSON.stringify(lib.src_path)}`);
  if (!manifest.includes(JSON.stringify(lib.src_path))) throw new Error(`${pkg.manifest_path}: library path not found`);
  manifest = manifest.replace(/^\[profile\.[^\]]*\][^[]*/gm, '');
  fs.writeFileSync(path.join(crate, 'Cargo.toml'), manifest);
  if (!fs.existsSync(path.join(source, 'build.rs'))) throw new Error(`${source}: no build.rs`);

  const copy = path.join(out, `real-with-${name}`);
  fs.mkdirSync(copy, { recursive: true });
  let realManifest = fs.readFileSync(path.join(real, 'Cargo.toml'), 'utf8');
  realManifest = realManifest.replace(/path = "([^"]+)"/g, (_, p) => `path = ${JSON.stringify(path.resolve(real, p))}`);
  realManifest += `\n[patch.crates-io]\n${name} = { path = ${JSON.stringify(crate)} }\n`;
  fs.writeFileSync(path.join(copy, 'Cargo.toml'), realManifest);
  fs.copyFileSync(path.join(real, 'Cargo.lock'), path.join(copy, 'Cargo.lock'));
  return copy;
}

/// Rewrites a module so that every `memory.grow` it executes calls two
/// imported functions around it (binaryen's `instrument-memory` pass,
/// limited to `memory.grow`: `env.memory_grow_pre(id, delta)` returns the
/// delta to grow by, `env.memory_grow_post(id, result)` the result), which
/// the runner counts; nothing else changes (the wasm features are those the
/// module declares). Returns the new module's path.
export function countGrows(file) {
  const instrumented = file.replace(/\.wasm$/, '.grows.wasm');
  run(wasmOpt, [file, '--instrument-memory', '--pass-arg=instrument-memory@memory.grow', '--remove-unused-module-elements', '-o', instrumented]);
  return instrumented;
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

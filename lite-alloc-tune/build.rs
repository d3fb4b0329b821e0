//! Embeds the sources of lite-alloc and lite-alloc-macros, as they are when
//! this tool is built, in the tool: the replay program it generates for each
//! trace compiles the very allocator code the user's program gets, wherever
//! the tool is run from (no checkout needed, nothing downloaded).
//!
//! The sources are found beside this crate: `../lite-alloc` in the
//! repository's workspace, `../lite-alloc-VERSION` when this crate was
//! downloaded from a registry (cargo unpacks a crate's dependencies there,
//! side by side). Their manifests are made standalone: what they take from
//! the workspace is written in, the one's dependency on the other becomes a
//! path, and what only their own tests need is left out.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// The crates embedded, in the order cargo builds them.
const CRATES: [&str; 2] = ["lite-alloc-macros", "lite-alloc"];

fn main() {
    let here = PathBuf::from(var("CARGO_MANIFEST_DIR"));
    let version = var("CARGO_PKG_VERSION");
    let parent = here
        .parent()
        .expect("the crate is in a directory")
        .to_path_buf();
    let workspace = read_table(&parent.join("Cargo.toml"))
        .filter(|t| t.contains_key("workspace"))
        .map(|t| t["workspace"].as_table().cloned().unwrap_or_default());
    if workspace.is_some() {
        println!(
            "cargo:rerun-if-changed={}",
            parent.join("Cargo.toml").display()
        );
    }
    let out = PathBuf::from(var("OUT_DIR"));
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for name in CRATES {
        let dir = [parent.join(name), parent.join(format!("{name}-{version}"))]
            .into_iter()
            .find(|dir| {
                read_table(&dir.join("Cargo.toml")).is_some_and(|t| {
                    t.get("package").and_then(|p| p.get("name")).and_then(Value::as_str)
                        == Some(name)
                })
            })
            .unwrap_or_else(|| {
                panic!(
                    "lite-alloc-tune embeds the sources of {name} {version}, and found them neither in {} (the repository) nor in {} (a registry): build it from lite-alloc's repository or from crates.io",
                    parent.join(name).display(),
                    parent.join(format!("{name}-{version}")).display()
                )
            });
        println!("cargo:rerun-if-changed={}", dir.display());
        let manifest = standalone(
            &read_table(&dir.join("Cargo.toml")).unwrap(),
            workspace.as_ref(),
        );
        let written = out.join(format!("{name}.Cargo.toml"));
        std::fs::write(&written, manifest).unwrap();
        files.push((format!("{name}/Cargo.toml"), written));
        let mut sources = Vec::new();
        collect(&dir, &dir, &mut sources);
        sources.sort();
        for relative in sources {
            files.push((format!("{name}/{relative}"), dir.join(&relative)));
        }
    }
    // The versions the workspace (or this package) was tested with, so
    // that the replay program resolves the same ones, offline too.
    let lock = [here.join("Cargo.lock"), parent.join("Cargo.lock")]
        .into_iter()
        .find(|p| p.is_file());
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut code = String::from(
        "/// The embedded files: each path (under the directory of the crates) and its bytes.\n\
         pub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        hash = fnv(name.as_bytes(), hash);
        hash = fnv(&std::fs::read(path).unwrap(), hash);
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    match &lock {
        Some(lock) => {
            println!("cargo:rerun-if-changed={}", lock.display());
            hash = fnv(&std::fs::read(lock).unwrap(), hash);
            let _ = writeln!(
                code,
                "/// The lockfile of the workspace the crates came from.\npub const LOCK: Option<&[u8]> = Some(include_bytes!({:?}));",
                lock.display().to_string()
            );
        }
        None => code.push_str(
            "/// The lockfile of the workspace the crates came from.\npub const LOCK: Option<&[u8]> = None;\n",
        ),
    }
    let general = files
        .iter()
        .filter(|(name, _)| name.starts_with("lite-alloc/") && name.ends_with(".rs"))
        .find_map(|(_, path)| general_line(&std::fs::read_to_string(path).unwrap()));
    let _ = writeln!(
        code,
        "/// The attribute arguments of `lite_alloc::General`, if it was found.\npub const GENERAL: Option<&str> = {general:?};"
    );
    let _ = writeln!(
        code,
        "/// A digest of every embedded byte: names the directory they are written to.\npub const FINGERPRINT: u64 = {hash:#018x};"
    );
    std::fs::write(out.join("embedded.rs"), code).unwrap();
}

include!("general_line.rs");

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"))
}

fn read_table(path: &Path) -> Option<Table> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.parse::<Table>()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

/// FNV-1a.
fn fnv(bytes: &[u8], hash: u64) -> u64 {
    bytes.iter().fold(hash, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The crate's files under `dir`, relative to `root`: everything but its
/// manifest (rewritten), build output, version-control and registry
/// bookkeeping.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out);
        } else if !(dir == root
            && matches!(
                name.as_str(),
                "Cargo.toml" | "Cargo.toml.orig" | "Cargo.lock"
            ))
        {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The crate's manifest, standalone: `workspace = true` entries replaced by
/// the workspace's, the embedded crates' dependencies on each other as
/// paths, and no tests, lints or publishing details.
fn standalone(manifest: &Table, workspace: Option<&Table>) -> String {
    let mut manifest = manifest.clone();
    let empty = Table::new();
    let ws_package = workspace
        .and_then(|w| w.get("package"))
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    let ws_deps = workspace
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    if let Some(package) = manifest.get_mut("package").and_then(Value::as_table_mut) {
        for (key, value) in package.iter_mut() {
            if inherits(value) {
                *value = ws_package
                    .get(key.as_str())
                    .unwrap_or_else(|| panic!("the workspace has no package.{key}"))
                    .clone();
            }
        }
        for key in [
            "readme",
            "license-file",
            "workspace",
            "include",
            "exclude",
            "publish",
        ] {
            package.remove(key);
        }
        package.insert("publish".into(), Value::Boolean(false));
    }
    for key in [
        "dev-dependencies",
        "lints",
        "test",
        "bench",
        "example",
        "badges",
    ] {
        manifest.remove(key);
    }
    for key in ["dependencies", "build-dependencies"] {
        if let Some(deps) = manifest.get_mut(key).and_then(Value::as_table_mut) {
            resolve(deps, ws_deps);
        }
    }
    if let Some(targets) = manifest.get_mut("target").and_then(Value::as_table_mut) {
        for (_, target) in targets.iter_mut() {
            let Some(target) = target.as_table_mut() else {
                continue;
            };
            target.remove("dev-dependencies");
            for key in ["dependencies", "build-dependencies"] {
                if let Some(deps) = target.get_mut(key).and_then(Value::as_table_mut) {
                    resolve(deps, ws_deps);
                }
            }
        }
    }
    toml::to_string(&manifest).unwrap()
}

fn inherits(value: &Value) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Dependencies taken from the workspace written in, and the embedded
/// crates as paths to each other.
fn resolve(deps: &mut Table, ws_deps: &Table) {
    for (name, dep) in deps.iter_mut() {
        if inherits(dep) {
            let local = dep.as_table().unwrap().clone();
            let mut merged = match ws_deps.get(name.as_str()) {
                Some(Value::String(version)) => {
                    let mut t = Table::new();
                    t.insert("version".into(), Value::String(version.clone()));
                    t
                }
                Some(Value::Table(t)) => t.clone(),
                _ => panic!("the workspace has no dependency {name}"),
            };
            for (key, value) in local {
                match key.as_str() {
                    "workspace" => {}
                    "features" => {
                        let mut all: BTreeSet<String> = BTreeSet::new();
                        for list in [merged.get("features"), Some(&value)].into_iter().flatten() {
                            for f in list.as_array().into_iter().flatten() {
                                all.insert(f.as_str().unwrap_or_default().to_string());
                            }
                        }
                        merged.insert(
                            "features".into(),
                            Value::Array(all.into_iter().map(Value::String).collect()),
                        );
                    }
                    _ => {
                        merged.insert(key, value);
                    }
                }
            }
            *dep = Value::Table(merged);
        }
        let package = dep
            .as_table()
            .and_then(|t| t.get("package"))
            .and_then(Value::as_str)
            .unwrap_or(name.as_str())
            .to_string();
        if CRATES.contains(&package.as_str()) {
            let mut t = match dep.clone() {
                Value::Table(t) => t,
                Value::String(version) => {
                    let mut t = Table::new();
                    t.insert("version".into(), Value::String(version));
                    t
                }
                _ => Table::new(),
            };
            t.remove("registry");
            t.insert("path".into(), Value::String(format!("../{package}")));
            *dep = Value::Table(t);
        }
    }
}

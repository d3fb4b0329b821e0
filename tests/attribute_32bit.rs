//! The attribute's values on a 32-bit target. The macro reads `bins`,
//! `page` and `growth` as 64-bit numbers on the host, and a value past
//! `u32::MAX` must be reported as too large for the target, on its token,
//! once: not cut to its low 32 bits (`bins = [16, 4294967328]` was a bin of
//! 32 bytes where a crate allows `overflowing_literals`), nor reported as
//! some other mistake. A crate with one such value per type is checked for
//! `wasm32-unknown-unknown` (each reported, nothing else) and for the host
//! (where every value fits: no error at all). The ui tests cannot do this:
//! trybuild builds for the host only.
//!
//! Needs the `wasm32-unknown-unknown` target: a missing target is a
//! failure, not a skip. `scripts/test.sh` installs it.
//!
//! Also checked in crates of their own: errors through a renamed
//! dependency, where `::lite_alloc` does not resolve, and the names a type
//! may not take.

use std::path::{Path, PathBuf};

use lite_alloc_tests::workspace;
use std::process::Command;

/// Each type's attribute, and the message expected for it on wasm32.
const CASES: [(&str, &str); 7] = [
    (
        "bins = [16, 8589934592]",
        "bin size 8589934592 is too large for this target",
    ),
    (
        "bins = [16, 4294967328]",
        "bin size 4294967328 is too large for this target",
    ),
    (
        "page = 8589934592",
        "`page = 8589934592` is too large for this target",
    ),
    (
        "growth = 1/8589934592",
        "`growth = 1/8589934592` is too large a denominator for this target",
    ),
    // Large classes are computed from the largest bin: once as its
    // bin's error, not again as an overflow there.
    (
        "bins = [16, 4294967296], large = reuse",
        "bin size 4294967296 is too large for this target",
    ),
    // An arena's size cut to 4096 bytes, and to 0, compiled.
    (
        "memory = arena(4294971392)",
        "the arena is too large for a static on this target",
    ),
    (
        "memory = arena(4294967296), large = reuse",
        "the arena is too large for a static on this target",
    ),
];

/// Writes a crate with `source` into `target/<name>`, its dependency on
/// lite-alloc named `dependency` (its own workspace, with the workspace's
/// lock file, so that it resolves offline to what the workspace uses), and
/// returns its directory: one for each test, which run at once.
fn write_crate(name: &str, dependency: &str, source: &str) -> PathBuf {
    let root = workspace();
    let dir = root.join("target").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"attribute-32bit\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\n{dependency} = {{ package = \"lite-alloc\", path = {:?} }}\n",
        root.join("lite-alloc")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), source).unwrap();
    dir
}

/// The crate with one type for each of `cases`.
fn write_cases(name: &str, cases: &[(&str, &str)]) -> PathBuf {
    let mut source = String::from("#![no_std]\n#![allow(overflowing_literals, dead_code)]\n");
    for (i, (args, _)) in cases.iter().enumerate() {
        source.push_str(&format!(
            "\n#[lite_alloc::lite_alloc({args})]\npub struct Alloc{i};\n"
        ));
    }
    write_crate(name, "lite-alloc", &source)
}

/// `cargo check` of the crate for `target` (the host when `None`): whether
/// it succeeded, and the lines of its errors. Every crate here is checked in
/// one target directory, so that the macro and its dependencies are built
/// once (cargo's lock on the directory takes the tests' checks in turn).
fn check(dir: &Path, target: Option<&str>) -> (bool, Vec<String>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(dir)
        .args(["check", "--offline", "--quiet", "--message-format=short"])
        .arg("--target-dir")
        .arg(workspace().join("target/attribute-32bit-checks"))
        .env_remove("RUSTFLAGS");
    if let Some(target) = target {
        command.args(["--target", target]);
    }
    let output = command.output().expect("cannot run cargo");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let errors = stderr
        .lines()
        .filter(|line| line.contains("error"))
        .filter(|line| !line.starts_with("error: could not compile"))
        .map(str::to_owned)
        .collect();
    (output.status.success(), errors)
}

#[test]
#[cfg_attr(miri, ignore = "spawns cargo")]
fn values_past_u32_max_are_reported_on_32_bit_targets() {
    let dir = write_cases("attribute-32bit-wasm32", &CASES);
    let (success, errors) = check(&dir, Some("wasm32-unknown-unknown"));
    assert!(!success, "the crate compiled for wasm32");
    assert!(
        !errors
            .iter()
            .any(|e| e.contains("can't find crate") || e.contains("target may not be installed")),
        "is `wasm32-unknown-unknown` installed?\n{errors:#?}"
    );
    for (i, (args, message)) in CASES.iter().enumerate() {
        // On the type's attribute, its own line (`write_crate`).
        let at = format!("src/lib.rs:{}:", 4 + 3 * i);
        let found = errors
            .iter()
            .filter(|e| e.starts_with(&at) && e.contains(message))
            .count();
        assert_eq!(
            found, 1,
            "`{args}`: {message:?} once at {at} in\n{errors:#?}"
        );
    }
    assert_eq!(
        errors.len(),
        CASES.len(),
        "one error for each type, nothing else:\n{errors:#?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "spawns cargo")]
#[cfg(target_pointer_width = "64")]
fn the_same_values_fit_a_64_bit_host() {
    // But for the second arena past 4 GiB: the host lays each such arena
    // out as it compiles the crate, a static of 4 GiB that rustc takes the
    // better part of a minute over (most of it the kernel's, handing it
    // zeroed pages), and the first shows as well that a size past
    // `u32::MAX` fits.
    let cases = &CASES[..CASES.len() - 1];
    assert!(
        cases
            .iter()
            .any(|(args, _)| args.contains("arena(4294971392)"))
    );
    let dir = write_cases("attribute-32bit-host", cases);
    let (success, errors) = check(&dir, None);
    assert!(success, "{errors:#?}");
}

/// Through a renamed dependency (`crate = path`), an attribute with an
/// error is reported once: the stand-ins that keep the rest of the program
/// free of errors name the runtime by that path too, where `::lite_alloc`
/// does not resolve. Also when the arguments do not parse, however
/// little of them does (a comma missing right after the path).
#[test]
#[cfg_attr(miri, ignore = "spawns cargo")]
fn an_error_through_a_renamed_dependency_is_reported_once() {
    let source = "#![no_std]\n\
        #[la::lite_alloc(crate = la, bins = [16, 8])]\n\
        pub struct Invalid;\n\
        #[la::lite_alloc(crate = la, bins = [16, 8x])]\n\
        pub struct Unparsed;\n\
        #[la::lite_alloc(crate = la bins = [16, 32])]\n\
        pub struct NoComma;\n\
        pub fn use_them() -> (Invalid, Unparsed, NoComma) {\n\
            (Invalid::new(), Unparsed::new(), NoComma::new())\n\
        }\n";
    let dir = write_crate("attribute-renamed", "la", source);
    let (success, errors) = check(&dir, None);
    assert!(!success);
    let [invalid, unparsed, no_comma] = &errors[..] else {
        panic!("one error for each type, nothing else:\n{errors:#?}");
    };
    assert!(no_comma.starts_with("src/lib.rs:6:"), "{errors:#?}");
    assert!(
        invalid.starts_with("src/lib.rs:2:") && invalid.contains("ascending"),
        "{errors:#?}"
    );
    assert!(unparsed.starts_with("src/lib.rs:4:"), "{errors:#?}");
}

/// A type named as an item the attribute generates beside it would be
/// shadowed there: refused on its name, raw or not, once; names that merely
/// look alike are the user's to take.
#[test]
#[cfg_attr(miri, ignore = "spawns cargo")]
fn only_the_generated_names_are_refused() {
    let source = "#![no_std]\n#![allow(non_camel_case_types)]\n\
        #[lite_alloc::lite_alloc(memory = arena(4096))]\n\
        pub struct r#__LiteAllocConfig;\n\
        #[lite_alloc::lite_alloc(memory = arena(4096))]\n\
        pub struct __lazy_heap;\n\
        #[lite_alloc::lite_alloc(memory = arena(4096))]\n\
        pub struct __LiteAllocator;\n\
        #[lite_alloc::lite_alloc(memory = arena(4096))]\n\
        pub struct __LITE_ALLOCATOR;\n\
        pub fn use_them() -> (r#__LiteAllocConfig, __lazy_heap, __LiteAllocator, __LITE_ALLOCATOR) {\n\
            (r#__LiteAllocConfig::new(), __lazy_heap::new(), __LiteAllocator::new(), __LITE_ALLOCATOR::new())\n\
        }\n";
    let dir = write_crate("attribute-names", "lite-alloc", source);
    let (success, errors) = check(&dir, None);
    assert!(!success);
    let [raw] = &errors[..] else {
        panic!("one error, on the raw name:\n{errors:#?}");
    };
    assert!(
        raw.starts_with("src/lib.rs:4:")
            && raw.contains("`__LiteAllocConfig` is the name of an item"),
        "{errors:#?}"
    );
}

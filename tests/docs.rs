//! The user's pages: the README stays short, shows the attribute's table as
//! the macro documents it (one source, `lite-alloc-macros/attribute.md`),
//! and no page, rustdoc or compile error refers to "the documented design"
//! or to issue numbers, which users cannot look up.

use std::path::{Path, PathBuf};

use lite_alloc_tests::workspace;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
#[cfg_attr(miri, ignore = "reads files")]
fn readme_is_at_most_250_lines() {
    let lines = read("README.md").lines().count();
    assert!(lines <= 250, "README.md has {lines} lines");
}

#[test]
#[cfg_attr(miri, ignore = "reads files")]
fn readme_shows_the_attribute_table_as_documented() {
    let readme = read("README.md");
    let (begin, end) = ("<!-- attribute:begin -->\n", "\n<!-- attribute:end -->");
    let from = readme
        .find(begin)
        .expect("an attribute section in README.md")
        + begin.len();
    let to = readme[from..].find(end).expect("its end") + from;
    assert_eq!(
        &readme[from..to],
        read("lite-alloc-macros/attribute.md").trim_end(),
        "copy lite-alloc-macros/attribute.md (the macro's documentation) into README.md's attribute section"
    );
}

/// Rust files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads files")]
fn no_page_names_the_documented_design_or_an_issue() {
    let root = workspace();
    let mut files: Vec<PathBuf> = [
        "README.md",
        "bench/README.md",
        "docs/design.md",
        "docs/testing.md",
        "lite-alloc-macros/attribute.md",
        "lite-alloc-macros/README.md",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    rust_files(&root.join("lite-alloc-macros/src"), &mut files);
    // The heap's own module docs are left to its rewrite.
    rust_files(&root.join("lite-alloc/src/memory"), &mut files);
    for file in ["lib.rs", "stats.rs", "sync.rs", "allocator_api.rs"] {
        files.push(root.join("lite-alloc/src").join(file));
    }
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let issue = lower.match_indices("issue").any(|(at, _)| {
                let rest = lower[at + 5..].trim_start_matches('s').trim_start();
                rest.starts_with(|c: char| c.is_ascii_digit())
            });
            if lower.contains("documented design") || issue {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "name lite-alloc 0.1.0's four-bin design, not these:\n{}",
        found.join("\n")
    );
}

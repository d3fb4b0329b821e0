//! The sources of lite-alloc and lite-alloc-macros as they were when this
//! tool was built (embedded by `build.rs`), which the replay program
//! compiles.

use std::io;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Writes the embedded crates into `workdir`, once for each build of the
/// tool; the directory holding them (`lite-alloc/`, `lite-alloc-macros/`).
///
/// Runs of the tool at the same time write their own copy and rename it
/// into place: the one that comes second finds the first's and drops its
/// own.
pub fn unpack(workdir: &Path) -> io::Result<PathBuf> {
    let dir = workdir.join(format!("lite-alloc-src-{FINGERPRINT:016x}"));
    if dir.join("complete").is_file() {
        return Ok(dir);
    }
    let partial = workdir.join(format!(
        "lite-alloc-src-{FINGERPRINT:016x}.partial-{}",
        std::process::id()
    ));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    for (name, bytes) in FILES {
        let path = partial.join(name);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
        std::fs::write(path, bytes)?;
    }
    std::fs::write(partial.join("complete"), b"")?;
    if std::fs::rename(&partial, &dir).is_err() {
        std::fs::remove_dir_all(&partial)?;
        if !dir.join("complete").is_file() {
            return Err(io::Error::other(format!(
                "cannot write lite-alloc's sources to {}",
                dir.display()
            )));
        }
    }
    Ok(dir)
}

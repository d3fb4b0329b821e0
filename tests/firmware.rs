//! The firmware example: built for `thumbv7em-none-eabihf` (no_std,
//! `memory = claimed` with two linker-defined regions in two RAM banks,
//! `sync = critical_section`), its code size printed, and run under
//! QEMU's Cortex-M4 board (`mps2-an386`) with semihosting, where it checks its
//! own results and exits with success or failure.
//!
//! Needs the `thumbv7em-none-eabihf` target and `qemu-system-arm`: a missing
//! tool is a failure, not a skip. `scripts/setup.sh` installs both.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples/firmware")
}

/// The size of each named section of a 32-bit little-endian ELF file.
fn section_sizes(elf: &[u8]) -> Vec<(String, u32)> {
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
    assert_eq!(&elf[..5], b"\x7fELF\x01", "a 32-bit ELF file");
    let (shoff, shentsize, shnum, shstrndx) = (
        u32_at(0x20) as usize,
        u16_at(0x2E),
        u16_at(0x30),
        u16_at(0x32),
    );
    let header = |i: usize| shoff + i * shentsize;
    let names = u32_at(header(shstrndx) + 0x10) as usize;
    (0..shnum)
        .map(|i| {
            let name_at = names + u32_at(header(i)) as usize;
            let end = elf[name_at..].iter().position(|&b| b == 0).unwrap();
            (
                String::from_utf8_lossy(&elf[name_at..name_at + end]).into_owned(),
                u32_at(header(i) + 0x14),
            )
        })
        .collect()
}

#[test]
#[cfg_attr(miri, ignore = "spawns cargo and qemu")]
fn firmware_builds_and_runs_under_qemu() {
    let dir = firmware_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&dir)
        .args(["build", "--quiet", "--release", "--locked"])
        .status()
        .expect("cannot run cargo");
    assert!(
        status.success(),
        "building the firmware failed (is `thumbv7em-none-eabihf` installed?)"
    );
    let elf_path = dir.join("target/thumbv7em-none-eabihf/release/firmware");
    let elf = std::fs::read(&elf_path).unwrap();
    let sizes = section_sizes(&elf);
    let text = sizes
        .iter()
        .find(|(name, _)| name == ".text")
        .expect("a .text section")
        .1;
    println!(
        "firmware .text: {text} bytes (the whole program: allocator, BTreeMap, formatting, semihosting)"
    );
    assert!(
        text > 0 && text < 64 * 1024,
        "firmware .text of {text} bytes"
    );

    let mut qemu = Command::new("qemu-system-arm")
        .args(["-cpu", "cortex-m4", "-machine", "mps2-an386", "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(&elf_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "`qemu-system-arm` not found: install Debian's qemu-system-arm (scripts/setup.sh does)",
        );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = qemu.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            qemu.kill().unwrap();
            panic!("the firmware did not exit within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = qemu.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    assert!(
        status.success(),
        "the firmware failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("claimed 8192 B of RAM and 65536 B of PSRAM"));
    assert!(stdout.contains("vec: 1000 pushes, sum 499500"));
    assert!(stdout.contains("16 KiB of samples in PSRAM at 0x21"));
    assert!(stdout.contains("out of memory: null for 128 KiB, then 13 bytes allocated"));
    assert!(stdout.contains("firmware: all checks passed"));
}

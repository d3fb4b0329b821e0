//! The firmware example: built for `thumbv7em-none-eabihf` (no_std,
//! `memory = claimed` with two linker-defined regions in two RAM banks,
//! `sync = critical_section`), its code size printed, and run under
//! QEMU's Cortex-M4 board (`mps2-an386`) with semihosting, where it checks its
//! own results and exits with success or failure. And `tests/firmware-m0`:
//! each kind of heap under random calls and an interrupt that allocates,
//! on QEMU's Cortex-M0 board (`microbit`), `thumbv6m-none-eabi`.
//!
//! Needs the `thumbv7em-none-eabihf` and `thumbv6m-none-eabi` targets and
//! `qemu-system-arm`: a missing tool is a failure, not a skip.
//! `scripts/setup.sh` installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lite_alloc_tests::output_within;

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

/// Boots `elf` in QEMU on the board `machine` (its arguments), with
/// semihosting; whether it exited with success, and what it printed (its
/// output and QEMU's errors). It must exit within 120 s.
fn qemu(machine: &[&str], elf: &Path) -> (bool, String) {
    let qemu = Command::new("qemu-system-arm")
        .args(machine)
        .args([
            "-nographic",
            "-semihosting-config",
            "enable=on,target=native",
        ])
        .arg("-kernel")
        .arg(elf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "`qemu-system-arm` not found: install Debian's qemu-system-arm (scripts/setup.sh does)",
        );
    let output = output_within(qemu, Duration::from_secs(120), &elf.display().to_string());
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.success(), format!("{stdout}{stderr}"))
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

    let (success, stdout) = qemu(&["-cpu", "cortex-m4", "-machine", "mps2-an386"], &elf_path);
    assert!(success, "the firmware failed: {stdout}");
    assert!(stdout.contains("claimed 8192 B of RAM and 65536 B of PSRAM"));
    assert!(stdout.contains("vec: 1000 pushes, sum 499500"));
    assert!(stdout.contains("16 KiB of samples in PSRAM at 0x21"));
    assert!(stdout.contains("out of memory: null for 128 KiB, then 13 bytes allocated"));
    assert!(stdout.contains("firmware: all checks passed"));
}

/// `tests/firmware-m0`: each kind of heap (bins only, large blocks reused,
/// chunks only, a bin in front of chunks, and chunks in the checked mode)
/// under random calls on a Cortex-M0 (`thumbv6m-none-eabi`: no
/// compare-and-swap, so `sync = critical_section`; an unaligned word access
/// faults), while the SysTick interrupt, every 100 cycles, frees its last
/// block and allocates another on the same heap; under QEMU's micro:bit
/// board with the 32 KiB of RAM of the nRF51822's larger variant, and
/// `-icount` so that the interrupts fall at the same instructions on every
/// run. Built twice: with debug assertions (`verify()` walks every chunk
/// after every call), and without, as firmware ships, where a call
/// interrupted inside the lock would corrupt the heap rather than meet the
/// re-entry guard.
#[test]
#[cfg_attr(miri, ignore = "spawns cargo and qemu")]
fn cortex_m0_serves_each_kind_of_heap_and_its_interrupt() {
    let dir = firmware_dir()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("tests/firmware-m0");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for profile in ["release", "lean"] {
        let status = Command::new(&cargo)
            .current_dir(&dir)
            .args(["build", "--quiet", "--locked", "--profile", profile])
            .status()
            .expect("cannot run cargo");
        assert!(
            status.success(),
            "building tests/firmware-m0 ({profile}) failed (is `thumbv6m-none-eabi` installed?)"
        );
        let elf = dir
            .join("target/thumbv6m-none-eabi")
            .join(profile)
            .join("lite-alloc-firmware-m0-tests");
        let board = [
            "-cpu",
            "cortex-m0",
            "-machine",
            "microbit",
            "-global",
            "nrf51-soc.sram-size=32768",
            "-icount",
            "shift=0",
        ];
        let (success, stdout) = qemu(&board, &elf);
        assert!(
            success,
            "the Cortex-M0 program ({profile}) failed: {stdout}"
        );
        for heap in [
            "bins",
            "large blocks reused",
            "chunks",
            "a bin in front of chunks",
            "checked chunks",
        ] {
            let line = format!("{heap}: ");
            assert!(
                stdout.lines().any(|l| l.starts_with(&line)),
                "{heap} ({profile}): {stdout}"
            );
        }
        assert!(stdout.contains("chunks: 1984 B in one block after every block was freed"));
        assert!(stdout.contains("cortex-m0: all checks passed"), "{stdout}");
    }
}

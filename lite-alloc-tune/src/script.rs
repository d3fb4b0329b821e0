//! A trace made ready to replay on wasm32: each block gets the number of a
//! slot in a table (a freed block's slot serves the next allocation), so
//! that the replay program needs no map from addresses to blocks, only a
//! table as large as the most blocks ever live at once; and every operation
//! carries its block's layout, so the table holds nothing but pointers.
//!
//! The format: `LARS1`, the number of slots (u32, little-endian), then one
//! operation per request, each a byte (the kind in the low two bits, the
//! base-2 logarithm of the alignment above) and varints:
//!
//! | operation | kind | then |
//! |---|---|---|
//! | allocate | 0 | slot, size, 1 if zeroed (a byte) |
//! | free | 1 | slot, size |
//! | resize | 2 | slot, old size, new size |
//! | end | 3 | |
//!
//! Requests the recorded program saw fail are left out, and so are frees
//! and resizes of blocks the trace does not know (recorded before the
//! recording started). Sizes of zero become 1 (the allocator's contract),
//! and sizes beyond wasm32's address space are kept at `u32::MAX`: the
//! replay makes no layout of a size or an alignment wasm32 cannot hold,
//! and counts the request as failed.

use std::collections::HashMap;

use lite_alloc_tune::trace::{Event, Trace};

/// A script.
pub struct Script {
    pub bytes: Vec<u8>,
    /// Frees and resizes of blocks the trace never allocated, left out:
    /// blocks allocated before the recording began, or a damaged trace.
    pub unknown: usize,
}

/// What the script knows of a live block.
#[derive(Clone, Copy)]
struct Block {
    slot: u32,
    size: usize,
    log_align: u8,
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// A size the replay on wasm32 can be asked for.
fn size32(size: usize) -> usize {
    size.clamp(1, u32::MAX as usize)
}

impl Script {
    /// The script of `trace`.
    pub fn of(trace: &Trace) -> Script {
        let mut bytes = Vec::with_capacity(trace.events.len() * 5 + 16);
        bytes.extend_from_slice(b"LARS1\0\0\0\0");
        let mut live: HashMap<usize, Block> = HashMap::new();
        let mut free_slots: Vec<u32> = Vec::new();
        let mut slots = 0u32;
        let mut unknown = 0;
        let free = |bytes: &mut Vec<u8>, free_slots: &mut Vec<u32>, block: Block| {
            bytes.push(1 | block.log_align << 2);
            varint(bytes, block.slot.into());
            varint(bytes, block.size as u64);
            free_slots.push(block.slot);
        };
        for event in &trace.events {
            match *event {
                Event::Alloc {
                    address,
                    size,
                    align,
                    zeroed,
                } => {
                    if address == 0 {
                        continue;
                    }
                    if let Some(old) = live.remove(&address) {
                        // A recording that missed a free: let the block go.
                        free(&mut bytes, &mut free_slots, old);
                    }
                    let slot = free_slots.pop().unwrap_or_else(|| {
                        slots += 1;
                        slots - 1
                    });
                    let block = Block {
                        slot,
                        size: size32(size),
                        log_align: align.trailing_zeros() as u8,
                    };
                    bytes.push(block.log_align << 2);
                    varint(&mut bytes, slot.into());
                    varint(&mut bytes, block.size as u64);
                    bytes.push(zeroed.into());
                    live.insert(address, block);
                }
                Event::Dealloc { address } => match live.remove(&address) {
                    Some(block) => free(&mut bytes, &mut free_slots, block),
                    None => unknown += 1,
                },
                Event::Realloc { from, to, size } => {
                    if to == 0 {
                        continue;
                    }
                    let Some(mut block) = live.remove(&from) else {
                        unknown += 1;
                        continue;
                    };
                    if let Some(old) = live.remove(&to) {
                        free(&mut bytes, &mut free_slots, old);
                    }
                    bytes.push(2 | block.log_align << 2);
                    varint(&mut bytes, block.slot.into());
                    varint(&mut bytes, block.size as u64);
                    block.size = size32(size);
                    varint(&mut bytes, block.size as u64);
                    live.insert(to, block);
                }
            }
        }
        bytes.push(3);
        bytes[5..9].copy_from_slice(&slots.to_le_bytes());
        Script { bytes, unknown }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frees and reallocations of blocks the trace never allocated are left
    /// out of the script, and counted.
    #[test]
    fn blocks_never_allocated_are_left_out_and_counted() {
        let alloc = |address| Event::Alloc {
            address,
            size: 24,
            align: 8,
            zeroed: false,
        };
        let trace = Trace {
            pointer_bytes: 4,
            events: vec![
                alloc(0x100),
                Event::Dealloc { address: 0x200 },
                Event::Realloc {
                    from: 0x300,
                    to: 0x400,
                    size: 48,
                },
                Event::Realloc {
                    from: 0x100,
                    to: 0x500,
                    size: 48,
                },
                Event::Dealloc { address: 0x500 },
            ],
            complete: true,
            ..Trace::default()
        };
        let script = Script::of(&trace);
        assert_eq!(script.unknown, 2);
        // The script of the same trace without them.
        let known = Trace {
            events: vec![
                alloc(0x100),
                Event::Realloc {
                    from: 0x100,
                    to: 0x500,
                    size: 48,
                },
                Event::Dealloc { address: 0x500 },
            ],
            ..Trace::default()
        };
        let expected = Script::of(&known);
        assert_eq!(expected.unknown, 0);
        assert_eq!(script.bytes, expected.bytes);
    }
}

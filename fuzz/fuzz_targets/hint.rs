//! The hint reader: parse, every block check, and probes.
#![no_main]

use hoardhaven::format::hint::{BLOCK_SLOTS, HintView};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(view) = HintView::parse(data) {
        let blocks = view.slot_count().div_ceil(BLOCK_SLOTS as u64);
        for block in 0..blocks.min(1 << 16) {
            let _ = view.check_block(block as usize);
        }
        for fp in [1u32, 0x8000_0000, u32::MAX] {
            for slot in view.probe(fp).take(1 << 16) {
                let _ = slot;
            }
        }
    }
});

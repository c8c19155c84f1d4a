//! The hint reader: parse, every block check, and probes.
#![no_main]

use hoardhaven::format::hint::HintView;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((view, _)) = HintView::parse(data) {
        for block in 0..view.block_count().min(1 << 16) {
            let _ = view.check_block(block);
        }
        let verified: Vec<std::sync::atomic::AtomicU64> =
            (0..view.block_count().div_ceil(64)).map(|_| Default::default()).collect();
        for fp in [1u32, 0x8000_0000, u32::MAX] {
            for slot in view.probe(fp, &verified).take(1 << 16) {
                let _ = slot;
            }
        }
    }
});

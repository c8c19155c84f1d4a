//! The snapshot decoder, strict and salvaging.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hoardhaven::memory::decode_snapshot(data, 1, false, |_| {});
    let _ = hoardhaven::memory::decode_snapshot(data, 1, true, |_| {});
});

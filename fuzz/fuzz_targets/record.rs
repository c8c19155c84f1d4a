//! The record decoder on arbitrary bytes.
#![no_main]

use hoardhaven::format::record::{Decoded, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while at < data.len() {
        at += match decode(&data[at..]) {
            Decoded::Record(_, len) => len,
            _ => 1,
        };
    }
});

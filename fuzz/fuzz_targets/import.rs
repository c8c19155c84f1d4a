//! The TSV, JSON Lines and RESP import readers.
#![no_main]

use hoardhaven::transfer::{EntryReader, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Tsv, Format::Jsonl, Format::Resp] {
        let mut reader = EntryReader::new(data, format);
        for _ in 0..10_000 {
            match reader.next_entry() {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
});

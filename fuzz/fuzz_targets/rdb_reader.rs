//! The RDB reader: any bytes after a valid header. It never panics and
//! never allocates beyond what its input justifies.
#![no_main]

use hoardhaven::rdb::RdbReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for header in [&b"REDIS0009"[..], b"REDIS0011", b"REDIS0003"] {
        let mut file = header.to_vec();
        file.extend_from_slice(data);
        let mut reader = RdbReader::new(&file[..]);
        for _ in 0..100_000 {
            match reader.next_item() {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
});

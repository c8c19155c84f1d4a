//! The manifest parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hoardhaven::manifest::Manifest::decode(data, std::path::Path::new("d/HOARD"));
});

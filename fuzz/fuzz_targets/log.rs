//! Log replay (torn tail vs corruption) and survey (resynchronisation).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("log");
    let _ = hoardhaven::log::scan_records(data, 32, path, true, |_, _| {});
    let _ = hoardhaven::log::scan_records(data, 32, path, false, |_, _| {});
    let _ = hoardhaven::log::survey_records(data, 32, true, &mut |_, _| {});
});

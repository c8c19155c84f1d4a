//! How results reach the user: data on stdout (raw bytes, lines, or JSON),
//! messages on stderr. Bytes that are not UTF-8 appear in JSON as base64
//! with a companion `<field>_encoding: "base64"` field.

use std::io::{self, IsTerminal, Write};

use base64::Engine as _;
use serde_json::{Map, Value as Json};

/// Inserts `bytes` into `object` under `field`, as a string when they are
/// UTF-8 and as base64 (flagged by `<field>_encoding`) when not.
pub fn put_bytes(object: &mut Map<String, Json>, field: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            object.insert(field.to_string(), Json::String(text.to_string()));
        }
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            object.insert(field.to_string(), Json::String(encoded));
            object.insert(
                format!("{field}_encoding"),
                Json::String("base64".to_string()),
            );
        }
    }
}

/// Writes one JSON document and a newline.
pub fn write_json(out: &mut impl Write, value: &Json) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Prints a warning or notice on stderr unless quiet.
pub fn notice(quiet: bool, message: &str) {
    if !quiet {
        eprintln!("hoard: {message}");
    }
}

/// A progress bar on stderr, only when stderr is a terminal and not quiet.
pub fn progress_bar(quiet: bool, label: &'static str) -> Option<indicatif::ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .expect("valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label);
    Some(bar)
}

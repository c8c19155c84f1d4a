//! How results reach the user: data on stdout (raw bytes, lines, or JSON),
//! messages on stderr. Bytes that are not UTF-8 appear in JSON as base64
//! with a companion `<field>_encoding: "base64"` field.

use std::io::{self, IsTerminal, Write};

use serde_json::Value as Json;

pub use hoardhaven::transfer::put_json_bytes as put_bytes;

/// `n` and the noun, singular for 1: "1 record", "2 records".
pub fn count(n: impl Into<u64>, singular: &str, plural: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// A byte count for people: `812 B`, `4.0 KiB`, `1.5 MiB`, `2.3 GiB`
/// (powers of 1024, as `--max-file-size` reads them). JSON keeps bytes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Writes one JSON document and a newline.
pub fn write_json(out: &mut impl Write, value: &Json) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Prints a warning or notice on stderr unless quiet.
pub fn notice(quiet: bool, message: &str) {
    if !quiet {
        stderr_line(&format!("hoard: {message}"));
    }
}

/// Writes `line` and a newline to stderr in one write. `eprintln!` writes
/// each formatted piece separately (stderr is unbuffered), so a terminal's
/// echo of typed input, or another process's output, could land inside
/// the line. Best effort, as `eprintln!` is, except that it never panics.
pub fn stderr_line(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let _ = io::stderr().write_all(&bytes);
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

/// A bar of bytes read (a running count when the total is unknown), on
/// stderr only when it is a terminal and not quiet.
pub fn byte_progress(
    quiet: bool,
    label: &'static str,
    total: Option<u64>,
) -> Option<indicatif::ProgressBar> {
    let bar = progress_bar(quiet, label)?;
    match total {
        Some(total) => bar.set_length(total),
        None => bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} {bytes} ({bytes_per_sec})")
                .expect("valid template"),
        ),
    }
    Some(bar)
}

/// A reader that drives a progress bar with the bytes consumed through it.
pub struct ProgressReader<R> {
    inner: R,
    bar: Option<indicatif::ProgressBar>,
    done: u64,
    shown: u64,
}

impl<R> ProgressReader<R> {
    /// Wraps `inner`; with no bar it only passes bytes through.
    pub fn new(inner: R, bar: Option<indicatif::ProgressBar>) -> ProgressReader<R> {
        ProgressReader {
            inner,
            bar,
            done: 0,
            shown: 0,
        }
    }

    fn advance(&mut self, n: usize) {
        self.done += n as u64;
        if let Some(bar) = &self.bar
            && self.done - self.shown >= 1 << 16
        {
            bar.set_position(self.done);
            self.shown = self.done;
        }
    }
}

impl<R> Drop for ProgressReader<R> {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl<R: io::Read> io::Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(n);
        Ok(n)
    }
}

impl<R: io::BufRead> io::BufRead for ProgressReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.advance(amount);
    }
}

/// Runs `work` with a progress callback that drives a bar (when one is shown).
pub fn with_progress<T>(
    quiet: bool,
    label: &'static str,
    work: impl FnOnce(&mut dyn FnMut(u64, u64)) -> T,
) -> T {
    let bar = progress_bar(quiet, label);
    let result = work(&mut |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

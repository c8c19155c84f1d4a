//! Pure codecs for everything hoard writes to disk. Nothing here does I/O:
//! functions take and return byte slices, every integer is fixed-width
//! little-endian, and no `usize` crosses onto disk. `docs/FORMAT.md` is the
//! prose twin of this module.

pub mod file_header;
pub mod file_list;
pub mod footer;
pub mod hint;
pub mod record;
pub mod snapshot;
pub mod v1;

/// Reads a little-endian u32 at `at`; the caller has checked the bounds.
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4-byte slice"))
}

/// Reads a little-endian u64 at `at`; the caller has checked the bounds.
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8-byte slice"))
}

//! Notices: what an engine noticed and did about it while opening or
//! working (a torn tail dropped, a hint it could not use, leftovers set
//! aside), for the user. Engines never print: they gather these, and the
//! command line prints each one's text (`Display`) and, under `--json`,
//! its `kind`.

use std::fmt;
use std::path::PathBuf;

use crate::manifest::EngineKind;

/// One thing an engine noticed, with its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A reader met a torn write at the end of the newest log file and
    /// ignores it; the next writer drops it (keeping a copy).
    TornTailIgnored {
        /// The log file's name in the store directory.
        file: String,
        /// Offset of the first torn byte.
        offset: u64,
        /// Bytes from there to the end of the file.
        len: u64,
        /// Valid records after the tear, never acknowledged.
        records: u64,
    },
    /// A writer cut a torn write off the end of the newest log file, after
    /// keeping its bytes under `torn/`.
    TornTailDropped {
        /// The log file's name in the store directory.
        file: String,
        /// Offset of the first torn byte (where the file now ends).
        offset: u64,
        /// Bytes from there to the end of the file.
        len: u64,
        /// Valid records after the tear, dropped with it.
        records: u64,
        /// Where the torn bytes are kept.
        kept_at: PathBuf,
        /// How many bytes were kept there.
        kept_len: u64,
    },
    /// A writer cut the zeros an interrupted sealing left after a data
    /// file's footer.
    FooterZerosCut {
        /// The data file's name in the store directory.
        file: String,
    },
    /// The bitcask hint could not be used: every data file is replayed instead.
    HintUnusable {
        /// What is wrong with the hint.
        fault: HintFault,
        /// What rewrites it.
        remedy: HintRemedy,
    },
    /// A writer removed files the file list does not name that hold no
    /// record (left by an interrupted file creation).
    LeftoversRemoved {
        /// The files' names.
        names: Vec<String>,
    },
    /// A writer moved files the file list does not name, which may hold
    /// data, aside for the user to inspect.
    LeftoversMovedAside {
        /// The files' names.
        names: Vec<String>,
        /// The directory they are now in, relative to the store directory.
        dir: PathBuf,
        /// The engine of the store (its text names the likely cause).
        engine: EngineKind,
    },
}

/// What is wrong with a bitcask hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintFault {
    /// Opening found no hint.
    Missing,
    /// Opening found a hint it cannot use (stale or damaged), and why.
    Unusable(String),
    /// A lookup met damage in a hint that opening accepted, and what.
    Damaged(String),
}

/// What will rewrite a hint that could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintRemedy {
    /// This handle writes: it rewrites the hint when it closes.
    RewrittenAtClose,
    /// A reader found the hint unusable at open: the next writer will too,
    /// and rewrites it (as does `hoard hint`).
    NextWrite,
    /// A reader met the damage in a lookup, which no later writer will
    /// know of: `hoard hint` rebuilds it.
    RunHint,
}

impl Notice {
    /// A stable snake_case name of the variant, for JSON and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::TornTailIgnored { .. } => "torn_tail_ignored",
            Notice::TornTailDropped { .. } => "torn_tail_dropped",
            Notice::FooterZerosCut { .. } => "footer_zeros_cut",
            Notice::HintUnusable { .. } => "hint_unusable",
            Notice::LeftoversRemoved { .. } => "leftovers_removed",
            Notice::LeftoversMovedAside { .. } => "leftovers_moved_aside",
        }
    }

    /// Whether the notice's text contains `text`.
    pub fn contains(&self, text: &str) -> bool {
        self.to_string().contains(text)
    }
}

/// " and the N unacknowledged record(s) after it", or nothing for none.
fn records_after(records: u64) -> String {
    match records {
        0 => String::new(),
        1 => " and the 1 unacknowledged record after it".to_string(),
        n => format!(" and the {n} unacknowledged records after it"),
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::TornTailIgnored {
                file,
                offset,
                len,
                records,
            } => write!(
                f,
                "ignoring a torn write at the end of {file} (offset {offset}, {len} bytes){}; \
                 the next write command drops it (keeping a copy)",
                records_after(*records)
            ),
            Notice::TornTailDropped {
                file,
                offset,
                len,
                records,
                kept_at,
                kept_len,
            } => {
                write!(
                    f,
                    "dropped a torn write at the end of {file} (offset {offset}, {len} bytes){}: \
                     the trace of an interrupted write that was never acknowledged; ",
                    records_after(*records),
                )?;
                // The copy stops at the last byte that is not zero: the
                // zeros after it are unwritten (preallocated) space.
                if kept_len < len {
                    write!(
                        f,
                        "its {kept_len} bytes up to the last that is not zero are kept in {}",
                        kept_at.display()
                    )
                } else {
                    write!(f, "its {kept_len} bytes are kept in {}", kept_at.display())
                }
            }
            Notice::FooterZerosCut { file } => write!(
                f,
                "cut the zeros after the footer of {file}, left by an interrupted sealing"
            ),
            Notice::HintUnusable { fault, remedy } => {
                match fault {
                    HintFault::Missing => f.write_str("there is no hint")?,
                    HintFault::Unusable(why) => write!(f, "the hint is not usable: {why}")?,
                    HintFault::Damaged(why) => write!(f, "the hint is damaged: {why}")?,
                }
                let remedy = match remedy {
                    HintRemedy::RewrittenAtClose => {
                        "it will be rewritten when this command finishes"
                    }
                    HintRemedy::NextWrite => "the next write command, or `hoard hint`, rewrites it",
                    HintRemedy::RunHint => "run `hoard hint` to rebuild it",
                };
                write!(f, "; replaying every data file instead ({remedy})")
            }
            Notice::LeftoversRemoved { names } => write!(
                f,
                "removed {}, left empty by an interrupted file creation",
                names.join(", ")
            ),
            Notice::LeftoversMovedAside { names, dir, engine } => {
                let cause = match engine {
                    EngineKind::Bitcask => {
                        "the leftover of an interrupted merge, or a file put there by hand"
                    }
                    EngineKind::Memory => "left by an interrupted snapshot, or put there by hand",
                };
                write!(
                    f,
                    "moved {} into {}/: not listed in FILES ({cause}); the store does not read \
                     them, remove them when you are sure",
                    names.join(", "),
                    dir.display()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn torn_ignored(records: u64) -> Notice {
        Notice::TornTailIgnored {
            file: "0000000001-00000.data".to_string(),
            offset: 4096,
            len: 300,
            records,
        }
    }

    #[test]
    fn a_torn_tail_a_reader_ignores() {
        assert_eq!(
            torn_ignored(0).to_string(),
            "ignoring a torn write at the end of 0000000001-00000.data (offset 4096, 300 bytes); \
             the next write command drops it (keeping a copy)"
        );
        assert_eq!(
            torn_ignored(1).to_string(),
            "ignoring a torn write at the end of 0000000001-00000.data (offset 4096, 300 bytes) \
             and the 1 unacknowledged record after it; the next write command drops it (keeping \
             a copy)"
        );
        assert!(
            torn_ignored(3)
                .to_string()
                .contains("300 bytes) and the 3 unacknowledged records after it;")
        );
        assert_eq!(torn_ignored(0).kind(), "torn_tail_ignored");
    }

    #[test]
    fn a_torn_tail_a_writer_drops() {
        let notice = Notice::TornTailDropped {
            file: "aof-00000000000000000001".to_string(),
            offset: 48,
            len: 512,
            records: 2,
            kept_at: PathBuf::from("/s/torn/x.torn"),
            kept_len: 500,
        };
        assert_eq!(
            notice.to_string(),
            "dropped a torn write at the end of aof-00000000000000000001 (offset 48, 512 bytes) \
             and the 2 unacknowledged records after it: the trace of an interrupted write that \
             was never acknowledged; its 500 bytes up to the last that is not zero are kept in \
             /s/torn/x.torn"
        );
        let whole = Notice::TornTailDropped {
            file: "0000000001-00000.data".to_string(),
            offset: 118,
            len: 9,
            records: 0,
            kept_at: PathBuf::from("/s/torn/y.torn"),
            kept_len: 9,
        };
        assert!(
            whole.to_string().ends_with(
                "(offset 118, 9 bytes): the trace of an interrupted write that was \
                            never acknowledged; its 9 bytes are kept in /s/torn/y.torn"
            ),
            "{whole}"
        );
        assert!(notice.contains("dropped a torn write"));
        assert!(notice.contains("offset 48"));
        assert!(!notice.contains("ignoring"));
        assert_eq!(notice.kind(), "torn_tail_dropped");
    }

    #[test]
    fn zeros_cut_after_a_footer() {
        let notice = Notice::FooterZerosCut {
            file: "0000000002-00000.data".to_string(),
        };
        assert_eq!(
            notice.to_string(),
            "cut the zeros after the footer of 0000000002-00000.data, left by an interrupted \
             sealing"
        );
        assert_eq!(notice.kind(), "footer_zeros_cut");
    }

    #[test]
    fn an_unusable_hint_names_its_fault_and_remedy() {
        let text = |fault, remedy| Notice::HintUnusable { fault, remedy }.to_string();
        assert_eq!(
            text(HintFault::Missing, HintRemedy::RewrittenAtClose),
            "there is no hint; replaying every data file instead (it will be rewritten when this \
             command finishes)"
        );
        assert_eq!(
            text(
                HintFault::Unusable("stale".to_string()),
                HintRemedy::NextWrite
            ),
            "the hint is not usable: stale; replaying every data file instead (the next write \
             command, or `hoard hint`, rewrites it)"
        );
        assert_eq!(
            text(
                HintFault::Damaged("bad block".to_string()),
                HintRemedy::RunHint
            ),
            "the hint is damaged: bad block; replaying every data file instead (run `hoard hint` \
             to rebuild it)"
        );
        let notice = Notice::HintUnusable {
            fault: HintFault::Missing,
            remedy: HintRemedy::RunHint,
        };
        assert_eq!(notice.kind(), "hint_unusable");
    }

    #[test]
    fn leftovers_removed_or_moved_aside() {
        let removed = Notice::LeftoversRemoved {
            names: vec!["a.data.tmp".to_string(), "b.data".to_string()],
        };
        assert_eq!(
            removed.to_string(),
            "removed a.data.tmp, b.data, left empty by an interrupted file creation"
        );
        assert_eq!(removed.kind(), "leftovers_removed");
        let moved = |engine| Notice::LeftoversMovedAside {
            names: vec!["x".to_string(), "y".to_string()],
            dir: PathBuf::from("unlisted"),
            engine,
        };
        assert_eq!(
            moved(EngineKind::Bitcask).to_string(),
            "moved x, y into unlisted/: not listed in FILES (the leftover of an interrupted \
             merge, or a file put there by hand); the store does not read them, remove them when \
             you are sure"
        );
        assert_eq!(
            moved(EngineKind::Memory).to_string(),
            "moved x, y into unlisted/: not listed in FILES (left by an interrupted snapshot, or \
             put there by hand); the store does not read them, remove them when you are sure"
        );
        assert_eq!(moved(EngineKind::Memory).kind(), "leftovers_moved_aside");
    }
}

//! Helpers shared by the integration tests: a temporary store directory and
//! a `hoard` command pointed at it with a clean environment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod redis;
pub mod server;

use assert_cmd::Command;

/// A temporary directory holding (or about to hold) a store at `dir()`.
pub struct TestDir {
    pub tmp: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A store created with `hoard init --engine ENGINE`.
    pub fn with_engine(engine: &str) -> TestDir {
        let t = TestDir::new();
        t.hoard()
            .args(["-q", "init", "--engine", engine])
            .assert()
            .success();
        t
    }

    /// A store created with `hoard init --engine ENGINE --sync SYNC`.
    pub fn with_sync(engine: &str, sync: &str) -> TestDir {
        let t = TestDir::new();
        t.hoard()
            .args(["-q", "init", "--engine", engine, "--sync", sync])
            .assert()
            .success();
        t
    }

    /// A copy of the store kept at `tests/fixtures/NAME`.
    pub fn from_fixture(name: &str) -> TestDir {
        let t = TestDir::new();
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::create_dir(t.dir()).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, t.dir().join(path.file_name().unwrap())).unwrap();
        }
        t
    }

    /// The store directory (not created until a write command runs).
    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("store")
    }

    /// `hoard -d DIR` with HOARD_DIR removed from the environment.
    pub fn hoard(&self) -> Command {
        hoard_at(&self.dir())
    }

    /// Runs `hoard put KEY VALUE` and asserts it succeeded.
    pub fn put(&self, key: &str, value: &str) {
        self.hoard().args(["put", key, value]).assert().success();
    }

    /// The data files of the store, oldest first.
    pub fn data_files(&self) -> Vec<PathBuf> {
        data_files(&self.dir())
    }
}

/// `hoard -d DIR` with a clean environment.
pub fn hoard_at(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("hoard").expect("hoard binary");
    cmd.env_remove("HOARD_DIR")
        .env_remove("NO_COLOR")
        .env_remove("HOARD_FAILPOINT")
        .arg("-d")
        .arg(dir);
    cmd
}

/// The data files in `dir`, oldest first.
pub fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("store dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    files
}

/// File names and contents of a directory; `Debug` shows names and sizes only.
#[derive(PartialEq, Eq)]
pub struct Snapshot(pub Vec<(String, Vec<u8>)>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, bytes)| {
                format!("{name} ({} bytes, fnv {:08x})", bytes.len(), fnv(bytes))
            }))
            .finish()
    }
}

/// A cheap fingerprint for messages (FNV-1a, 32-bit).
fn fnv(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Every file in `dir` with its bytes, to prove nothing changed. `LOCK` is
/// left out: every writer records its pid there.
pub fn snapshot_dir(dir: &Path) -> Snapshot {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|path| path.file_name().is_some_and(|n| n != "LOCK"))
        .map(|path| {
            let bytes = if path.is_file() {
                std::fs::read(&path).expect("read")
            } else {
                Vec::new()
            };
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    files.sort();
    Snapshot(files)
}

/// Defines each test twice, in modules `bitcask` and `memory`, each run
/// against a store of that engine: one suite, both engines.
#[macro_export]
macro_rules! both_engines {
    ($(fn $name:ident($t:ident: &TestDir) $body:block)*) => {
        mod bitcask {
            #[allow(unused_imports)]
            use super::*;
            $(#[test] fn $name() { let $t = &TestDir::with_engine("bitcask"); $body })*
        }
        mod memory {
            #[allow(unused_imports)]
            use super::*;
            $(#[test] fn $name() { let $t = &TestDir::with_engine("memory"); $body })*
        }
    };
}

//! Helpers shared by the integration tests: a temporary store directory and
//! a `hoard` command pointed at it with a clean environment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

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

/// A listing of every file in `dir` with its bytes, to prove nothing changed.
pub fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let path = e.expect("entry").path();
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
    files
}

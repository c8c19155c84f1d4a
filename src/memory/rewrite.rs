//! The rewrite that lets writes go on: seal the AOF and list the next one,
//! write the snapshot shard by shard, switch (the steps and their crash
//! argument are in the parent module's documentation and docs/FORMAT.md).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::snapshot::{self, SnapshotInfo};
use super::{Memory, MemoryFiles, SHARDS, Writer};
use crate::error::Result;
use crate::failpoint;
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::fs;
use crate::layout;
use crate::log_file::{LogFile, LogName};

impl Memory {
    /// Writes a new snapshot and starts a fresh AOF (see the module
    /// documentation for the steps); writes go on meanwhile. Expired keys
    /// are dropped.
    pub fn snapshot(&self, now_ms: u64) -> Result<SnapshotInfo> {
        let _one = self.rewriting.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = self.lock_writable()?;
        let (generation, old) = self.log.poison_on_error(|| self.plan_rewrite(&mut w))?;
        if self.log.active().is_none() {
            // No AOF takes writes (a repair, or a store never written since
            // it opened): nothing to list early, and the rewrite holds the
            // append lock throughout, so no write can meet an unlisted AOF.
            return self.log.poison_on_error(|| {
                let fresh = Arc::new(LogFile::create(&self.dir, LogName::Aof(generation))?);
                self.preallocate(&fresh);
                failpoint::hit("snapshot-after-new-aof");
                let info = self.write_snapshot_file(&self.dir, generation, now_ms)?;
                failpoint::hit("snapshot-after-snapshot");
                self.finish_rewrite(&mut w, generation, info, &old)?;
                self.log.set_active(fresh);
                Ok(info)
            });
        }
        self.log
            .poison_on_error(|| self.switch_aof(&mut w, generation))?;
        drop(w);
        let info = self
            .log
            .poison_on_error(|| self.write_snapshot_file(&self.dir, generation, now_ms))?;
        failpoint::hit("snapshot-after-snapshot");
        let mut w = self.lock_writable()?;
        self.log
            .poison_on_error(|| self.finish_rewrite(&mut w, generation, info, &old))?;
        Ok(info)
    }

    /// Picks the new generation (newer than every file) and the files the
    /// rewrite will remove at its end; commits an empty file list first
    /// when the list is damaged (a repair), so that the files made below are
    /// unlisted leftovers until the switch, never unexplained ones.
    fn plan_rewrite(&self, w: &mut Writer) -> Result<(u64, Vec<String>)> {
        self.log.sync()?;
        // A repair (a verify-only open, which loaded nothing) rewrites a
        // store whose list may be damaged, and reads it tolerantly; a live
        // store trusts the list it holds and what the directory shows.
        let files = if self.options.load {
            MemoryFiles::read(&self.dir)?
        } else {
            MemoryFiles::read_checked(&self.dir, true)?
        };
        let newest = files
            .list
            .entries
            .iter()
            .map(|(_, g)| *g)
            .chain([w.snapshot_generation])
            .max()
            .unwrap_or(0);
        let old: Vec<String> = files
            .snapshots
            .iter()
            .map(|g| layout::snapshot_file_name(*g))
            .chain(files.aofs.iter().map(|g| layout::aof_file_name(*g)))
            .filter(|name| !files.missing.contains(name))
            .collect();
        let sequence = w.list.sequence.max(files.list.sequence);
        w.list = if files.list_problem.is_some() {
            let mut empty = FileList {
                sequence,
                ..FileList::default()
            };
            file_list::write(&self.dir, &mut empty)?;
            empty
        } else {
            FileList {
                sequence,
                ..files.list
            }
        };
        Ok((newest + 1, old))
    }

    /// Step 1: seal the AOF, begin AOF `generation` and list it beside the
    /// old files; writes go there from now on.
    fn switch_aof(&self, w: &mut Writer, generation: u64) -> Result<()> {
        let fresh = Arc::new(LogFile::create(&self.dir, LogName::Aof(generation))?);
        self.preallocate(&fresh);
        failpoint::hit("snapshot-after-new-aof");
        if let Some(active) = self.log.active()
            && !active.is_sealed()
        {
            self.log.seal(&active)?;
            w.list
                .sealed
                .insert((ListedKind::Aof, active.name().number()));
        }
        failpoint::hit("snapshot-after-seal");
        w.list.entries.push((ListedKind::Aof, generation));
        file_list::write(&self.dir, &mut w.list)?;
        self.log.set_active(fresh);
        failpoint::hit("snapshot-after-aof-switch");
        Ok(())
    }

    /// Step 2: the snapshot of the table into `dir`, shard by shard.
    fn write_snapshot_file(
        &self,
        dir: &Path,
        generation: u64,
        now_ms: u64,
    ) -> Result<SnapshotInfo> {
        let mut peak = 0u64;
        let info = snapshot::write_chunks(dir, generation, |emit| {
            let mut chunk: Vec<(Vec<u8>, Vec<u8>, u64)> = Vec::new();
            for i in 0..SHARDS {
                chunk.clear();
                {
                    let table = self.shard_at(i);
                    chunk.extend(
                        table
                            .iter()
                            .filter(|(_, _, e)| *e == 0 || now_ms < *e)
                            .map(|(k, v, e)| (k.to_vec(), v.to_vec(), e)),
                    );
                }
                let bytes: u64 = chunk
                    .iter()
                    .map(|(k, v, _)| (k.len() + v.len() + 40) as u64)
                    .sum();
                peak = peak.max(bytes);
                for (k, v, e) in &chunk {
                    emit(k, v, *e);
                }
            }
        })?;
        self.rewrite_peak_bytes.fetch_max(peak, Ordering::Relaxed);
        Ok(info)
    }

    /// Steps 3 and 4: switch the file list to snapshot `generation` and
    /// its AOF, then remove the old files.
    fn finish_rewrite(
        &self,
        w: &mut Writer,
        generation: u64,
        info: SnapshotInfo,
        old: &[String],
    ) -> Result<()> {
        // The snapshot may hold writes made after the AOF switch: they
        // become durable in AOF N before the snapshot stands for them, so
        // a power cut keeps an order-respecting prefix of the writes.
        self.log.sync()?;
        let mut list = FileList {
            sequence: w.list.sequence,
            entries: vec![
                (ListedKind::Snapshot, generation),
                (ListedKind::Aof, generation),
            ],
            sealed: Default::default(),
        };
        file_list::write(&self.dir, &mut list)?;
        w.list = list;
        failpoint::hit("snapshot-after-switch");
        for (i, name) in old.iter().enumerate() {
            fs::remove_file(&self.dir.join(name))?;
            if i == 0 {
                failpoint::hit("snapshot-after-first-removal");
            }
        }
        fs::sync_dir(&self.dir)?;
        w.snapshot_generation = generation;
        w.snapshot_info = info;
        Ok(())
    }

    /// Writes a snapshot of the current data into `dir` (a new store's
    /// directory), as generation 1 with an empty AOF.
    pub fn snapshot_into(&self, dir: &Path, now_ms: u64) -> Result<SnapshotInfo> {
        let info = self.write_snapshot_file(dir, 1, now_ms)?;
        LogFile::create(dir, LogName::Aof(1))?;
        let mut list = FileList {
            sequence: 0,
            entries: vec![(ListedKind::Snapshot, 1), (ListedKind::Aof, 1)],
            sealed: Default::default(),
        };
        file_list::write(dir, &mut list)?;
        Ok(info)
    }
}

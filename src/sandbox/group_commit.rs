//! Group commit for a [`super::journal::Journal`]: a record is written while its sandbox holds
//! its lock and made durable after the lock is released, so commands in flight together share
//! one fsync instead of each holding the lock through its own (10 to 40 ms on a busy disk).
//!
//! Positions count the bytes ever written to the journal (they keep growing when a compaction
//! empties it). [`Durability::wait`] returns once everything up to a position is on disk: the
//! first waiter fsyncs all that was written so far, and the waiters queued behind it find their
//! records covered. Nothing may be acknowledged before that, so a request that wrote waits for
//! its record and a request that only read waits for everything written before it read (it may
//! have seen it).
//!
//! A failed fsync leaves unknown what reached the disk, so from then on every write and every
//! wait for a record not known to be durable fails, until the sandbox is reopened from its
//! files (as a database stops trusting its page cache after a failed fsync).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::persist::PersistError;

/// What is on disk of one journal, shared by the requests waiting for it.
#[derive(Debug)]
pub struct Durability {
    file: File,
    path: PathBuf,
    written: AtomicU64,
    synced: Mutex<Synced>,
}

#[derive(Debug, Default)]
struct Synced {
    /// Everything up to this position is on disk.
    upto: u64,
    /// Why an fsync failed, once one has.
    failed: Option<String>,
}

impl Durability {
    /// Tracks `file` (a handle on the journal at `path`), nothing written yet.
    pub(super) fn new(file: File, path: &Path) -> Self {
        Durability {
            file,
            path: path.to_path_buf(),
            written: AtomicU64::new(0),
            synced: Mutex::new(Synced::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Synced> {
        // Every update of `Synced` is a single assignment: a panic cannot leave it half done.
        self.synced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The position after the last record written.
    pub fn position(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Called by the journal once a record is completely written, up to `position`.
    pub(super) fn advance(&self, position: u64) {
        self.written.store(position, Ordering::Release);
    }

    /// Called once everything written so far is on disk by other means (an fsync of the
    /// journal under the lock, or a snapshot that holds every record).
    pub(super) fn synced_all(&self) {
        let position = self.position();
        let mut synced = self.lock();
        synced.upto = synced.upto.max(position);
    }

    /// Fails if an fsync has failed: nothing more may be written.
    pub fn check(&self) -> Result<(), PersistError> {
        match &self.lock().failed {
            Some(reason) => Err(self.failed(reason)),
            None => Ok(()),
        }
    }

    /// Returns once everything up to `position` is on disk, fsyncing if nobody has yet.
    pub fn wait(&self, position: u64) -> Result<(), PersistError> {
        let mut synced = self.lock();
        if synced.upto >= position {
            return Ok(());
        }
        if let Some(reason) = &synced.failed {
            return Err(self.failed(reason));
        }
        // Records written up to here are complete (see `advance`), so this fsync covers them,
        // including those written by requests that have not started waiting yet.
        let target = self.position();
        match self.sync() {
            Ok(()) => {
                synced.upto = synced.upto.max(target);
                Ok(())
            }
            Err(source) => {
                synced.failed = Some(source.to_string());
                Err(PersistError::Io {
                    action: "fsync",
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    #[cfg(not(test))]
    fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Tests make the next fsync fail by setting [`FAIL_NEXT_SYNC`].
    #[cfg(test)]
    fn sync(&self) -> std::io::Result<()> {
        if FAIL_NEXT_SYNC.with(|f| f.replace(false)) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        self.file.sync_data()
    }

    fn failed(&self, reason: &str) -> PersistError {
        PersistError::Corrupt {
            path: self.path.clone(),
            reason: format!(
                "an earlier fsync failed ({reason}), so what reached the disk is unknown; restart the sandbox to reload its files"
            ),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Makes the next fsync run by a waiter on this thread fail.
    pub static FAIL_NEXT_SYNC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

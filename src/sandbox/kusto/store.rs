//! Crash-safe persistence of [`SandboxState`] in a sandbox directory: a snapshot
//! (`kusto-state.json`) plus a journal (`kusto-journal.log`) of what each committed command
//! changed since ([`super::changes`]).
//!
//! A command appends one record to the journal and fsyncs it before its result is returned,
//! so persisting costs what the command changed, not the size of the state. Management
//! commands write their record under the sandbox's lock and wait for it to be on disk after
//! ([`Store::write`], [`crate::sandbox::group_commit`]), so the scripts in flight together
//! share an fsync; ingestions fsync their own under the lock ([`Store::commit`]). Opening loads the
//! snapshot and replays the journal; a torn last record (a crash during its append) was never
//! committed and is dropped. When the journal outgrows the snapshot (and [`COMPACT_AFTER`]),
//! the next command first writes the state it starts from as a new snapshot (write-temp,
//! fsync, rename, fsync-dir through [`crate::sandbox::persist`]) and empties the journal: a
//! crash in between replays records the snapshot already holds, which changes nothing.
//! A file that exists but cannot be read is an error, never silently replaced by an empty
//! state, and a file in an unknown format is refused.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::changes::{self, Change};
use super::state::{STATE_FORMAT, SandboxState};
use crate::sandbox::group_commit::Durability;
use crate::sandbox::journal::{Journal, Opened};
use crate::sandbox::persist;

/// File name of the snapshot inside the sandbox directory.
pub const STATE_FILE: &str = "kusto-state.json";

/// File name of the journal of changes since the snapshot.
pub const JOURNAL_FILE: &str = "kusto-journal.log";

/// The journal is folded into a new snapshot once it is larger than the snapshot and than
/// this many bytes (so a small sandbox does not rewrite its snapshot every few commands).
pub const COMPACT_AFTER: u64 = 1 << 20;

/// Why the state could not be loaded or saved (shared with the other sandboxes).
pub use crate::sandbox::persist::PersistError as StoreError;

/// The on-disk state of one sandbox: snapshot and journal.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    journal: Journal,
    snapshot_len: u64,
}

impl Store {
    /// Opens the store in `dir` (created if missing) and loads its state: the snapshot with
    /// the journal replayed. A new directory gets an empty snapshot, so the files always say
    /// which format they are in.
    pub fn open(dir: &Path) -> Result<(Self, SandboxState), StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(STATE_FILE);
        let journal_path = dir.join(JOURNAL_FILE);
        let mut state = match persist::load_json::<SandboxState>(&path)? {
            Some(state) => state,
            None if journal_path.exists() => {
                return Err(StoreError::Corrupt {
                    path,
                    reason: format!("the file is missing but {JOURNAL_FILE} is not"),
                });
            }
            None => {
                let state = SandboxState::default();
                persist::save_json(dir, STATE_FILE, &state)?;
                state
            }
        };
        if state.format != STATE_FORMAT {
            return Err(StoreError::Corrupt {
                path,
                reason: format!(
                    "format {} is not supported (expected {STATE_FORMAT})",
                    state.format
                ),
            });
        }
        let Opened { journal, records } = Journal::open::<Vec<Change>>(&journal_path)?;
        for record in records {
            changes::apply(&mut state, record).map_err(|reason| StoreError::Corrupt {
                path: journal_path.clone(),
                reason,
            })?;
        }
        let snapshot_len = file_len(&path)?;
        Ok((
            Store {
                dir: dir.to_path_buf(),
                journal,
                snapshot_len,
            },
            state,
        ))
    }

    /// Path of the snapshot.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Before a command: if the journal has outgrown the snapshot, writes `current` (the
    /// state the files hold) as the new snapshot and empties the journal. Done before rather
    /// than after a commit, so a failure here fails a command that changed nothing yet.
    pub fn compact_if_due(&mut self, current: &SandboxState) -> Result<(), StoreError> {
        if self.journal.len() > self.snapshot_len.max(COMPACT_AFTER) {
            self.journal.durability().check()?;
            self.compact(current)?;
        }
        Ok(())
    }

    /// Writes `current` as the snapshot and empties the journal.
    fn compact(&mut self, current: &SandboxState) -> Result<(), StoreError> {
        persist::save_json(&self.dir, STATE_FILE, current)?;
        self.snapshot_len = file_len(&self.path())?;
        self.journal.reset()?;
        // `current` holds every record written so far, and it is on disk now.
        self.journal.durability().synced_all();
        Ok(())
    }

    /// Commits what a command changed (nothing to do when it changed nothing): once this
    /// returns, a crash cannot lose it.
    pub fn commit(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.journal.append(&changes)
    }

    /// Writes what a command changed without waiting for the disk; the command is committed
    /// once [`Durability::wait`] returns for the position returned (see [`Store::durability`]).
    pub fn write(&mut self, changes: &[Change]) -> Result<u64, StoreError> {
        self.journal.write(&changes)
    }

    /// What is on disk of the journal, for requests to wait on after the sandbox's lock.
    pub fn durability(&self) -> Arc<Durability> {
        self.journal.durability()
    }
}

fn file_len(path: &Path) -> Result<u64, StoreError> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| StoreError::Io {
            action: "read metadata of",
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kusto::state::{Column, Database, Table};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        names.sort();
        names
    }

    /// Two commits after an empty snapshot: a database, then a table in it.
    fn two_commits(store: &mut Store) -> (SandboxState, SandboxState) {
        let empty = SandboxState::default();
        let mut first = empty.clone();
        first
            .databases
            .insert("db".into(), Database::new("id-1".into()));
        store
            .commit(&changes::between(&empty, &first))
            .expect("commit 1");
        let mut second = first.clone();
        let column = Column {
            name: "A".into(),
            ty: crate::model::ColumnType::Long,
            data_nulled: false,
        };
        second
            .databases
            .get_mut("db")
            .expect("db")
            .tables
            .insert("T".into(), Table::new("T".into(), vec![column]).into());
        store
            .commit(&changes::between(&first, &second))
            .expect("commit 2");
        (first, second)
    }

    #[test]
    fn commits_go_to_the_journal_and_reopening_replays_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, state) = Store::open(dir.path()).expect("open");
        assert_eq!(state, SandboxState::default());
        let snapshot = fs::read(store.path()).expect("snapshot");
        let (_, second) = two_commits(&mut store);
        store.commit(&[]).expect("nothing to commit");
        drop(store);
        assert_eq!(names(dir.path()), [JOURNAL_FILE, STATE_FILE]);
        assert_eq!(
            fs::read(dir.path().join(STATE_FILE)).expect("snapshot"),
            snapshot,
            "commits do not rewrite the snapshot"
        );
        let (_, reopened) = Store::open(dir.path()).expect("reopen");
        assert_eq!(reopened, second);
    }

    #[test]
    fn a_record_torn_by_a_crash_is_not_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _) = Store::open(dir.path()).expect("open");
        let (first, _) = two_commits(&mut store);
        drop(store);
        let journal = dir.path().join(JOURNAL_FILE);
        let bytes = fs::read(&journal).expect("journal");
        fs::write(&journal, &bytes[..bytes.len() - 10]).expect("tear");
        let (_, reopened) = Store::open(dir.path()).expect("reopen");
        assert_eq!(reopened, first, "the state of the last complete record");
    }

    #[test]
    fn compaction_keeps_the_state_even_if_interrupted_before_emptying_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _) = Store::open(dir.path()).expect("open");
        let (_, second) = two_commits(&mut store);
        let journal = dir.path().join(JOURNAL_FILE);
        let records = fs::read(&journal).expect("journal");
        store.compact(&second).expect("compact");
        assert!(store.journal.is_empty());
        drop(store);
        let (_, reopened) = Store::open(dir.path()).expect("reopen");
        assert_eq!(reopened, second);
        // A crash after the new snapshot but before the journal was emptied.
        fs::write(&journal, &records).expect("restore journal");
        let (_, replayed) = Store::open(dir.path()).expect("reopen");
        assert_eq!(
            replayed, second,
            "replaying records the snapshot holds changes nothing"
        );
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(STATE_FILE), b"{not json").expect("write");
        let err = Store::open(dir.path()).expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        // The bad file is left alone for the operator to inspect.
        assert_eq!(
            fs::read(dir.path().join(STATE_FILE)).expect("read"),
            b"{not json"
        );
    }

    #[test]
    fn a_journal_without_its_snapshot_or_an_unknown_format_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _) = Store::open(dir.path()).expect("open");
        two_commits(&mut store);
        drop(store);
        fs::remove_file(dir.path().join(STATE_FILE)).expect("remove");
        let err = Store::open(dir.path()).expect_err("no snapshot");
        assert!(err.to_string().contains("is missing but"), "{err}");
        fs::write(
            dir.path().join(STATE_FILE),
            br#"{"format": 99, "databases": {}}"#,
        )
        .expect("write");
        let err = Store::open(dir.path()).expect_err("unknown format");
        assert!(
            err.to_string()
                .contains("format 99 is not supported (expected 1)"),
            "{err}"
        );
    }
}

//! An append-only journal of committed changes, so a sandbox persists what a command changed
//! instead of rewriting its whole state.
//!
//! The file starts with a header line naming its format ([`HEADER`]); every record after it is
//! one line: a checksum (FNV-1a, 64 bits, hex) of the JSON that follows, a space, the record as
//! compact JSON (which never holds a raw newline), and a newline. Each record is fsynced before
//! the command's result is returned, so a record in the file is a committed change: either by
//! [`Journal::append`], or written by [`Journal::write`] and fsynced with the records written
//! beside it ([`super::group_commit`]).
//!
//! A crash during an append leaves at most one torn record at the end of the file (no newline,
//! or a checksum that does not match): it was never committed, so reading ignores it and
//! opening for append cuts it off. A bad record followed by a complete one cannot come from a
//! crash; it is reported as corruption, never skipped. A file with another header is refused.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::group_commit::Durability;
use super::persist::PersistError;

/// First line of every journal: the format it is written in.
pub const HEADER: &str = "kustoplan-journal 1";

/// An open journal file, positioned for appends.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
    records: u64,
    /// Bytes of records ever written through this handle (the group commit's positions).
    position: u64,
    durability: Arc<Durability>,
}

/// What [`Journal::open`] read: the committed records, in order.
#[derive(Debug)]
pub struct Opened<T> {
    /// The journal, ready for appends after the last committed record.
    pub journal: Journal,
    /// Every committed record, oldest first.
    pub records: Vec<T>,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PersistError {
    let path = path.to_path_buf();
    move |source| PersistError::Io {
        action,
        path,
        source,
    }
}

fn corrupt(path: &Path, reason: String) -> PersistError {
    PersistError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

/// FNV-1a over `bytes`: enough to tell a torn or garbled record from a written one.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One record's line, newline included.
fn encode<T: Serialize>(path: &Path, record: &T) -> Result<Vec<u8>, PersistError> {
    let json = serde_json::to_vec(record).map_err(|e| corrupt(path, e.to_string()))?;
    let mut line = format!("{:016x} ", checksum(&json)).into_bytes();
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

/// The record in `line` (without its newline), or `None` if the checksum does not match or
/// the JSON is not a record.
fn decode<T: DeserializeOwned>(line: &[u8]) -> Option<T> {
    let (sum, json) = line.split_at_checked(17)?;
    let sum = std::str::from_utf8(sum.strip_suffix(b" ")?).ok()?;
    if u64::from_str_radix(sum, 16).ok()? != checksum(json) {
        return None;
    }
    serde_json::from_slice(json).ok()
}

impl Journal {
    /// Opens (or creates) the journal at `path`: reads its committed records, cuts off a torn
    /// last record, and refuses a file in another format or with a corrupt record.
    pub fn open<T: DeserializeOwned>(path: &Path) -> Result<Opened<T>, PersistError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("read", path)(e)),
        };
        let header = format!("{HEADER}\n");
        let mut records = Vec::new();
        let committed = if bytes.len() < header.len() && header.as_bytes().starts_with(&bytes) {
            // Missing, or torn while it was being created: no record was ever committed.
            None
        } else {
            let Some(body) = bytes.strip_prefix(header.as_bytes()) else {
                let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
                return Err(corrupt(
                    path,
                    format!(
                        "journal format '{}' is not supported (expected '{HEADER}')",
                        String::from_utf8_lossy(first)
                    ),
                ));
            };
            let mut end = header.len();
            let mut lines = body.split_inclusive(|b| *b == b'\n').peekable();
            while let Some(line) = lines.next() {
                let complete = line.strip_suffix(b"\n");
                match complete.and_then(decode) {
                    Some(record) => {
                        records.push(record);
                        end += line.len();
                    }
                    // Only the last line can be torn by a crash during its append.
                    None if lines.peek().is_none() => break,
                    None => {
                        return Err(corrupt(
                            path,
                            format!(
                                "journal record {} (at byte {end}) is damaged and later records follow it",
                                records.len() + 1
                            ),
                        ));
                    }
                }
            }
            Some(end)
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io("open", path))?;
        let durability = Arc::new(Durability::new(
            file.try_clone().map_err(io("open", path))?,
            path,
        ));
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            len: 0,
            records: records.len() as u64,
            position: 0,
            durability,
        };
        match committed {
            Some(end) if end == bytes.len() => journal.len = end as u64,
            Some(end) => journal.cut(end as u64)?,
            None => journal.reset()?,
        }
        Ok(Opened { journal, records })
    }

    /// Appends one record and fsyncs it: once this returns, the record is committed. On
    /// failure the file is cut back, so the record is not replayed later either.
    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<(), PersistError> {
        self.durability.check()?;
        let line = encode(&self.path, record)?;
        self.put(&line, true)?;
        // The fsync covered the records written before this one too.
        self.durability.synced_all();
        Ok(())
    }

    /// Writes one record without waiting for the disk, and returns the position to pass to
    /// [`Durability::wait`] before acknowledging it: the record is committed once that
    /// returns. On failure the file is cut back, so the record is not replayed later either.
    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<u64, PersistError> {
        self.durability.check()?;
        let line = encode(&self.path, record)?;
        self.put(&line, false)?;
        Ok(self.position)
    }

    /// Writes `line` at the end (fsynced if `sync`), or cuts the file back on failure.
    fn put(&mut self, line: &[u8], sync: bool) -> Result<(), PersistError> {
        let written = self.write_at_end(line).and_then(|()| {
            if sync {
                self.file.sync_data().map_err(io("fsync", &self.path))
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            return Err(match self.cut(self.len) {
                Ok(()) => e,
                Err(undo) => corrupt(
                    &self.path,
                    format!("{e}; then could not remove the partial record: {undo}"),
                ),
            });
        }
        self.len += line.len() as u64;
        self.records += 1;
        self.position += line.len() as u64;
        self.durability.advance(self.position);
        Ok(())
    }

    /// What is on disk of this journal, for requests to wait on outside their sandbox's lock.
    pub fn durability(&self) -> Arc<Durability> {
        Arc::clone(&self.durability)
    }

    fn write_at_end(&mut self, bytes: &[u8]) -> Result<(), PersistError> {
        use std::io::{Seek, SeekFrom};
        self.file
            .seek(SeekFrom::Start(self.len))
            .map_err(io("seek", &self.path))?;
        self.file.write_all(bytes).map_err(io("write", &self.path))
    }

    /// Cuts the file to `len` bytes (dropping a torn or failed record) and fsyncs.
    fn cut(&mut self, len: u64) -> Result<(), PersistError> {
        self.file.set_len(len).map_err(io("truncate", &self.path))?;
        self.file.sync_all().map_err(io("fsync", &self.path))?;
        self.len = len;
        Ok(())
    }

    /// Empties the journal (after a snapshot took in every record), keeping its header.
    pub fn reset(&mut self) -> Result<(), PersistError> {
        self.cut(0)?;
        let header = format!("{HEADER}\n");
        self.write_at_end(header.as_bytes())?;
        self.file.sync_all().map_err(io("fsync", &self.path))?;
        self.len = header.len() as u64;
        self.records = 0;
        Ok(())
    }

    /// Size of the file in bytes, to decide when a snapshot is due.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the journal holds no record.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> Result<Opened<u32>, PersistError> {
        Journal::open(path)
    }

    #[test]
    fn appended_records_are_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        assert!(j.is_empty());
        for n in [3u32, 1, 2] {
            j.append(&n).expect("append");
        }
        drop(j);
        let opened = open(&path).expect("reopen");
        assert_eq!(opened.records, [3, 1, 2]);
        assert!(!opened.journal.is_empty());
        assert_eq!(
            opened.journal.len(),
            fs::metadata(&path).expect("meta").len()
        );
    }

    #[test]
    fn a_torn_last_record_is_not_committed_and_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        j.append(&7u32).expect("append");
        j.append(&123_456u32).expect("append");
        let full = fs::read(&path).expect("read");
        for cut in 1..=8 {
            fs::write(&path, &full[..full.len() - cut]).expect("tear");
            let mut opened = open(&path).expect("torn tail is not an error");
            assert_eq!(opened.records, [7], "cut {cut}");
            opened.journal.append(&9u32).expect("append after tear");
            drop(opened);
            assert_eq!(open(&path).expect("reopen").records, [7, 9], "cut {cut}");
        }
    }

    #[test]
    fn a_garbled_last_record_is_not_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        j.append(&7u32).expect("append");
        drop(j);
        let mut bytes = fs::read(&path).expect("read");
        bytes.extend_from_slice(b"0000000000000000 8\n");
        fs::write(&path, &bytes).expect("write");
        assert_eq!(open(&path).expect("open").records, [7]);
    }

    #[test]
    fn a_damaged_record_before_others_is_an_error_and_the_file_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        j.append(&7u32).expect("append");
        j.append(&8u32).expect("append");
        drop(j);
        let mut bytes = fs::read(&path).expect("read");
        let digit = HEADER.len() + 1 + 17;
        assert_eq!(bytes[digit], b'7');
        bytes[digit] = b'5';
        fs::write(&path, &bytes).expect("write");
        let err = open(&path).expect_err("corrupt");
        assert!(
            err.to_string().contains("journal record 1") && err.to_string().contains("damaged"),
            "{err}"
        );
        assert_eq!(fs::read(&path).expect("read"), bytes, "left for inspection");
    }

    #[test]
    fn another_format_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        fs::write(&path, "kustoplan-journal 9\n").expect("write");
        let err = open(&path).expect_err("unknown format");
        assert!(
            err.to_string()
                .contains("journal format 'kustoplan-journal 9' is not supported"),
            "{err}"
        );
    }

    #[test]
    fn written_records_share_one_fsync_and_are_read_back() {
        use crate::sandbox::group_commit::FAIL_NEXT_SYNC;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        let durability = j.durability();
        let first = j.write(&1u32).expect("write");
        let second = j.write(&2u32).expect("write");
        assert!(first < second);
        durability.wait(first).expect("fsync");
        // The first waiter's fsync covered the second record: waiting for it syncs nothing
        // (a sync would fail).
        FAIL_NEXT_SYNC.with(|f| f.set(true));
        let grouped = durability.wait(second);
        let synced_again = FAIL_NEXT_SYNC.with(|f| !f.replace(false));
        grouped.expect("already on disk");
        assert!(
            !synced_again,
            "the second record needed no fsync of its own"
        );
        drop(j);
        assert_eq!(open(&path).expect("reopen").records, [1, 2]);
    }

    #[test]
    fn after_a_failed_fsync_nothing_more_is_written_or_acknowledged() {
        use crate::sandbox::group_commit::FAIL_NEXT_SYNC;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        let durability = j.durability();
        let durable = j.write(&1u32).expect("write");
        durability.wait(durable).expect("fsync");
        let pending = j.write(&2u32).expect("write");
        FAIL_NEXT_SYNC.with(|f| f.set(true));
        let err = durability.wait(pending).expect_err("fsync fails");
        assert!(err.to_string().contains("injected fsync failure"), "{err}");
        let err = durability.wait(pending).expect_err("still unknown");
        assert!(err.to_string().contains("an earlier fsync failed"), "{err}");
        durability
            .wait(durable)
            .expect("was on disk before the failure");
        assert!(j.write(&3u32).is_err());
        assert!(j.append(&4u32).is_err());
        drop(j);
        assert_eq!(
            open(&path).expect("reopen").records,
            [1, 2],
            "nothing after the failure"
        );
    }

    #[test]
    fn reset_empties_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut j = open(&path).expect("open").journal;
        j.append(&1u32).expect("append");
        j.reset().expect("reset");
        assert!(j.is_empty());
        j.append(&2u32).expect("append");
        drop(j);
        assert_eq!(open(&path).expect("reopen").records, [2]);
    }
}

//! One writer at a time for a built-in sandbox directory.
//!
//! The sandboxes load their whole state when opened and write it back after every change, so
//! two processes writing the same directory silently lose each other's work (the second apply's
//! saves overwrite the first's tables). A [`DirLease`] is an OS advisory lock (`flock`) on
//! `DIR/kustoplan.lock`: `apply` and `sandbox serve` hold it exclusively, `plan` and `status`
//! hold it shared (they only read, but opening a sandbox may add declared databases).
//! The OS releases the lock when its holder exits, even by `kill -9`, so a crash never leaves
//! a directory locked.
//!
//! The exclusive holder writes a small record (pid, host, start time, command) into the lock
//! file so that a refused process can say who holds the directory; the record is cleared on
//! release, and a shared holder clears a record a crashed writer left behind (while it holds
//! the lock shared, no writer can exist).
//!
//! A writer takes the lock before it writes its record and clears the record before the lock
//! is released, so a refused process can find the lock held and the record empty. It then
//! asks the lock itself (a shared try-lock fails only while a writer holds it): a writer is
//! given a moment to finish writing its record, and a lock found free is tried again rather
//! than refused.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::kusto::lease::host_name;
use crate::providers::wait::{Wait, WaitOutcome};

/// Name of the lock file inside the sandbox directory.
pub const LOCK_FILE: &str = "kustoplan.lock";

/// How often a waiting process retries the lock.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// How long a refused process waits for a writer that holds the lock to write its record (it
/// does so right after locking) or to release it (right after clearing the record).
const RECORD_GRACE: Duration = Duration::from_millis(500);

/// How often a refused process that found the lock free tries it again before it reports the
/// readers it keeps finding (a writer's request refused by readers finds no writer each time).
const FREE_RETRIES: u32 = 3;

/// Whether the holder writes the directory or only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseMode {
    /// Readers (plan, status): any number at once, never alongside a writer.
    Shared,
    /// A writer (apply, sandbox serve): alone.
    Exclusive,
}

/// What a process asks for: the mode, how long to wait for it, and who it is (for the record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// Shared or exclusive.
    pub mode: LeaseMode,
    /// How long to wait for a holder to finish; zero refuses at once.
    pub wait: Duration,
    /// The command, as shown to a refused process (`kustoplan apply`).
    pub command: String,
}

impl LeaseRequest {
    /// A reader's request, refused at once while a writer holds the directory (readers write
    /// no record, so they need no name).
    pub fn read() -> Self {
        LeaseRequest {
            mode: LeaseMode::Shared,
            wait: Duration::ZERO,
            command: "kustoplan".to_string(),
        }
    }

    /// A writer's request that waits up to `wait` for other holders.
    pub fn write(command: &str, wait: Duration) -> Self {
        LeaseRequest {
            mode: LeaseMode::Exclusive,
            wait,
            command: command.to_string(),
        }
    }
}

/// Who holds a directory exclusively, as written in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name of the machine the process runs on.
    pub host: String,
    /// When the lease was taken, seconds since the Unix epoch.
    pub since_unix: u64,
    /// The command that holds it.
    pub command: String,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = UNIX_EPOCH + Duration::from_secs(self.since_unix);
        write!(
            f,
            "`{}` (pid {} on {}, since {})",
            self.command,
            self.pid,
            self.host,
            httpdate::fmt_http_date(since)
        )
    }
}

/// Why a lease was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another process holds the directory.
    #[error("{}", held_message(.dir, .holder, *.waited))]
    Held {
        /// The sandbox directory.
        dir: PathBuf,
        /// Who holds it.
        holder: HeldBy,
        /// How long this process was willing to wait (`--lock-timeout`).
        waited: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock the sandbox directory {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Who holds a directory a process was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldBy {
    /// A writer, by its record.
    Writer(Holder),
    /// Readers (plan, status), which write no record.
    Readers,
    /// A writer that wrote no record within [`RECORD_GRACE`] (a stalled process, or one
    /// whose record cannot be read).
    Unrecorded,
}

impl fmt::Display for HeldBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeldBy::Writer(holder) => holder.fmt(f),
            HeldBy::Readers => f.write_str("another kustoplan process reading it (plan or status)"),
            HeldBy::Unrecorded => {
                f.write_str("another kustoplan process writing it (it left no record of itself)")
            }
        }
    }
}

fn held_message(dir: &Path, holder: &HeldBy, waited: Duration) -> String {
    let who = holder.to_string();
    let ms = waited.as_millis();
    let waited = match ms {
        0 => String::new(),
        _ if ms.is_multiple_of(1000) => format!(" (waited {}s)", ms / 1000),
        _ => format!(" (waited {ms}ms)"),
    };
    format!(
        "the sandbox directory {} is held by {who}{waited}",
        dir.display()
    )
}

/// A held lease; dropping it releases the directory.
#[derive(Debug)]
pub struct DirLease {
    file: File,
    mode: LeaseMode,
}

impl DirLease {
    /// Takes the lease on `dir` (created if missing), waiting up to `request.wait` for other
    /// holders to let go.
    pub fn acquire(dir: &Path, request: &LeaseRequest) -> Result<DirLease, LeaseError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LeaseError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        // Shown from the first refusal until the lease is taken or given up.
        let mut waiting: Option<Wait> = None;
        let mut free_retries = 0;
        loop {
            let attempt = match request.mode {
                LeaseMode::Shared => file.try_lock_shared(),
                LeaseMode::Exclusive => file.try_lock(),
            };
            match attempt {
                Ok(()) => {
                    if let Some(waiting) = waiting.take() {
                        waiting.end(WaitOutcome::Done);
                    }
                    break;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let waited = started.elapsed();
                    if waited >= request.wait {
                        let holder = match who_holds(&file).map_err(io)? {
                            Some(writer) => writer,
                            None if free_retries < FREE_RETRIES => {
                                free_retries += 1;
                                continue;
                            }
                            None => HeldBy::Readers,
                        };
                        if let Some(waiting) = waiting.take() {
                            waiting.end(WaitOutcome::Failed("gave up, still held".to_string()));
                        }
                        return Err(LeaseError::Held {
                            dir: dir.to_path_buf(),
                            holder,
                            waited: request.wait,
                        });
                    }
                    if waiting.is_none() {
                        let holder = read_holder(&file).map_or_else(
                            || "another kustoplan process".to_string(),
                            |h| h.to_string(),
                        );
                        waiting = Some(Wait::since(
                            format!(
                                "waiting for {holder} to release the sandbox directory {} \
                                 (--lock-timeout {}s)",
                                dir.display(),
                                request.wait.as_secs()
                            ),
                            started,
                        ));
                    }
                    std::thread::sleep(RETRY_EVERY.min(request.wait - waited));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let mut lease = DirLease {
            file,
            mode: request.mode,
        };
        let record = match request.mode {
            LeaseMode::Exclusive => Some(Holder {
                pid: std::process::id(),
                host: host_name(),
                since_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                command: request.command.clone(),
            }),
            LeaseMode::Shared => None,
        };
        lease.write_record(record.as_ref()).map_err(io)?;
        Ok(lease)
    }

    /// Replaces the lock file's content with `holder` (or empties it).
    fn write_record(&mut self, holder: Option<&Holder>) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        if let Some(holder) = holder {
            let text = serde_json::to_vec(holder).map_err(std::io::Error::other)?;
            self.file.write_all(&text)?;
            self.file.flush()?;
        }
        Ok(())
    }
}

impl Drop for DirLease {
    fn drop(&mut self) {
        if self.mode == LeaseMode::Exclusive
            && let Err(e) = self.write_record(None)
        {
            // The lock itself is released when the file closes; a stale record is cleared by
            // the next holder.
            tracing::warn!("cannot clear the sandbox lock record: {e}");
        }
    }
}

/// Who holds the lock, asked after a refusal: the writer (by its record, waiting up to
/// [`RECORD_GRACE`] for a writer that has just locked to write it), or `None` when no writer
/// holds it any more (readers may, or nobody: the caller tries again).
fn who_holds(file: &File) -> std::io::Result<Option<HeldBy>> {
    let deadline = Instant::now() + RECORD_GRACE;
    loop {
        if let Some(holder) = read_holder(file) {
            return Ok(Some(HeldBy::Writer(holder)));
        }
        match file.try_lock_shared() {
            Ok(()) => {
                file.unlock()?;
                return Ok(None);
            }
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(Some(HeldBy::Unrecorded)),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// The exclusive holder's record, if the lock file has a readable one.
fn read_holder(file: &File) -> Option<Holder> {
    let mut text = Vec::new();
    let mut reader = file;
    reader.rewind().ok()?;
    reader.read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests;

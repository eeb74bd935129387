//! Waits the providers report while they happen (token acquisition, retry backoff, connector
//! states, canaries, another apply's lease), so the command line can show a progress line
//! instead of going silent. Only the events live here: how a wait is shown (a spinner on a
//! terminal, plain lines otherwise) is the CLI's business (`cli::progress`), and a library user
//! who installs no observer sees nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Identifies one wait among concurrent ones (connectors and databases wait side by side).
pub type WaitId = u64;

/// How a wait ended, for its final line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    /// What was waited for happened.
    Done,
    /// The wait ended without it; the text says why (shown after the elapsed time).
    Failed(String),
}

/// One moment of a wait. The observer measures elapsed time itself from `Started`, so that
/// providers need no timer of their own to keep a progress line current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEvent {
    /// A wait began.
    Started {
        /// Which wait.
        id: WaitId,
        /// What is waited for, e.g. `waiting for the apply lease in database `db``.
        what: String,
        /// How long the wait had already lasted when it was reported (zero unless it was
        /// noticed late, as the lease wait counted from the first attempt).
        elapsed: Duration,
    },
    /// A wait ended.
    Ended {
        /// Which wait.
        id: WaitId,
        /// How long it lasted.
        elapsed: Duration,
        /// Whether it got what it waited for.
        outcome: WaitOutcome,
    },
}

/// Receives the providers' wait events; the CLI implements it to draw progress lines.
pub trait WaitObserver: Send + Sync {
    /// Called from whichever task or thread waits; must not block for long.
    fn event(&self, event: &WaitEvent);
}

static OBSERVER: OnceLock<Arc<dyn WaitObserver>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Installs the process's observer; the first one wins, since the process has one stderr.
/// Returns false if one was installed already.
pub fn set_observer(observer: Arc<dyn WaitObserver>) -> bool {
    OBSERVER.set(observer).is_ok()
}

/// A wait in progress. Dropping it without [`Wait::end`] reports it as failed ("stopped"),
/// so a wait abandoned by an error or a cancelled future never leaves a spinner behind.
#[derive(Debug)]
pub struct Wait {
    id: WaitId,
    started: Instant,
    ended: bool,
}

impl Wait {
    /// Reports the start of a wait for `what`.
    pub fn start(what: impl Into<String>) -> Wait {
        Wait::since(what, Instant::now())
    }

    /// Reports a wait for `what` that began at `started`, so its elapsed time matches the
    /// limit the user set (`--lock-timeout` counts from the first attempt, not from the
    /// first refusal).
    pub fn since(what: impl Into<String>, started: Instant) -> Wait {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = OBSERVER.get() {
            observer.event(&WaitEvent::Started {
                id,
                what: what.into(),
                elapsed: started.elapsed(),
            });
        }
        Wait {
            id,
            started,
            ended: false,
        }
    }

    /// Reports the end of the wait.
    pub fn end(mut self, outcome: WaitOutcome) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: WaitOutcome) {
        if self.ended {
            return;
        }
        self.ended = true;
        if let Some(observer) = OBSERVER.get() {
            observer.event(&WaitEvent::Ended {
                id: self.id,
                elapsed: self.started.elapsed(),
                outcome,
            });
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.finish(WaitOutcome::Failed("stopped".to_string()));
    }
}

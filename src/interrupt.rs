//! A request to stop an apply between steps (Ctrl-C or SIGTERM): the request in flight finishes,
//! nothing more is sent, and the report says what ran. Shared by the signal watcher at the CLI
//! edge and every system's apply loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once when the user asks apply to stop; cheap to clone and check between requests.
#[derive(Debug, Clone, Default)]
pub struct StopRequest(Arc<AtomicBool>);

impl StopRequest {
    /// Asks every apply loop holding a clone to stop before its next request.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for: checked before each request is sent.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

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

/// Whether one apply loop may still send requests: not once one of them failed, nor once a
/// stop was requested. Every system's apply loop halts the same way through it, and the report
/// tells an interruption from a failure.
#[derive(Debug, Default)]
pub struct Halt {
    halted: AtomicBool,
    interrupted: AtomicBool,
}

impl Halt {
    /// Whether the next request may be sent: no after [`Halt::halt`], and no once `stop` is
    /// requested (which halts and counts as an interruption).
    pub fn may_start(&self, stop: &StopRequest) -> bool {
        if self.is_halted() {
            return false;
        }
        if stop.is_requested() {
            self.interrupted.store(true, Ordering::SeqCst);
            self.halted.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// No request starts any more (one did not complete).
    pub fn halt(&self) {
        self.halted.store(true, Ordering::SeqCst);
    }

    /// Whether the loop halted, for a failure or a stop.
    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    /// Whether the loop halted because a stop was requested.
    pub fn was_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::{Halt, StopRequest};

    #[test]
    fn a_halt_stops_every_later_start_and_tells_a_stop_from_a_failure() {
        let stop = StopRequest::default();
        let failed = Halt::default();
        assert!(failed.may_start(&stop));
        failed.halt();
        assert!(!failed.may_start(&stop));
        assert!(failed.is_halted());
        assert!(!failed.was_interrupted(), "a failure is no interruption");

        let stopped = Halt::default();
        stop.request();
        assert!(!stopped.may_start(&stop));
        assert!(stopped.is_halted());
        assert!(stopped.was_interrupted());
        // A loop halted by a failure before the stop was asked for stays a failure.
        assert!(!failed.may_start(&stop));
        assert!(!failed.was_interrupted());
    }
}

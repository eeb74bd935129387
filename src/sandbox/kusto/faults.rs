//! Fault injection and request counting for the HTTP sandbox, so tests can prove that clients
//! retry transient failures, report partial scripts, and make a bounded number of round trips.

use serde::{Deserialize, Serialize};

/// Faults to inject. Set in-process with `ServerHandle::set_faults` or over HTTP with
/// `POST /sandbox/faults` (the body replaces the whole configuration; absent fields are off).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay added to every Kusto request, in milliseconds.
    pub latency_ms: u64,
    /// The next N Kusto requests answer 429 with `Retry-After`.
    pub throttle_next: u32,
    /// `Retry-After` seconds sent with injected 429s.
    pub retry_after_secs: u64,
    /// The next N Kusto requests answer 503.
    pub unavailable_next: u32,
    /// The next `.execute database script` runs this many commands (their effects are kept)
    /// and then the TCP connection is closed without a response.
    pub drop_script_after: Option<usize>,
}

/// What an incoming request should suffer, decided (and counted down) once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Injected {
    /// Answer 429 with this `Retry-After`.
    Throttle(u64),
    /// Answer 503.
    Unavailable,
    /// Run normally; cut a script after this many commands, if set.
    Run(Option<usize>),
}

impl Faults {
    /// Takes the fault for one request, decrementing the counters it consumes.
    pub(super) fn take(&mut self) -> Injected {
        if self.throttle_next > 0 {
            self.throttle_next -= 1;
            Injected::Throttle(self.retry_after_secs)
        } else if self.unavailable_next > 0 {
            self.unavailable_next -= 1;
            Injected::Unavailable
        } else {
            Injected::Run(self.drop_script_after)
        }
    }
}

/// Requests received per Kusto endpoint (including ones answered with injected faults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    /// `POST /v1/rest/mgmt`.
    pub mgmt: u64,
    /// `POST /v1/rest/query` and `POST /v2/rest/query` (streaming ingestion requests count only
    /// in `in_flight` and `max_in_flight`).
    pub query: u64,
    /// Requests being answered right now.
    pub in_flight: u64,
    /// The most requests ever answered at the same time: shows whether a client sends requests
    /// concurrently without timing anything.
    pub max_in_flight: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_then_unavailable_then_runs() {
        let mut f = Faults {
            throttle_next: 1,
            retry_after_secs: 7,
            unavailable_next: 1,
            drop_script_after: Some(2),
            ..Faults::default()
        };
        assert_eq!(f.take(), Injected::Throttle(7));
        assert_eq!(f.take(), Injected::Unavailable);
        assert_eq!(f.take(), Injected::Run(Some(2)));
        assert_eq!((f.throttle_next, f.unavailable_next), (0, 0));
    }
}

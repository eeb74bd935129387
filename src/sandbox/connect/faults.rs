//! Fault injection and request counting for the Connect sandbox's HTTP face, so tests can
//! prove that clients retry rebalances (409), worker errors and lost connections, and that
//! observe makes a constant number of requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What Connect answers while the group rebalances or the config topic moved on.
pub const REBALANCE_MESSAGE: &str = "Cannot complete request momentarily due to stale \
                                     configuration (typically caused by a concurrent config change)";

/// Faults to inject. Set in-process with `ConnectServerHandle::set_faults` or over HTTP with
/// `POST /sandbox/faults` (the body replaces the whole configuration; absent fields are off).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectFaults {
    /// Delay added to every Connect request, in milliseconds.
    pub latency_ms: u64,
    /// The next N requests answer 409 Conflict (rebalance in progress).
    pub conflict_next: u32,
    /// The next N requests answer 500 "Request timed out" (a worker that could not reach
    /// the leader in time).
    pub error_next: u32,
    /// The next N requests have their TCP connection closed without an answer (before the
    /// request is processed).
    pub drop_next: u32,
}

/// What one request suffers, decided (and counted down) once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Injected {
    Conflict,
    Error,
    Drop,
    None,
}

impl ConnectFaults {
    pub(super) fn take(&mut self) -> Injected {
        if self.drop_next > 0 {
            self.drop_next -= 1;
            Injected::Drop
        } else if self.conflict_next > 0 {
            self.conflict_next -= 1;
            Injected::Conflict
        } else if self.error_next > 0 {
            self.error_next -= 1;
            Injected::Error
        } else {
            Injected::None
        }
    }
}

/// Requests received (including those answered with injected faults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectStats {
    /// All Connect REST requests.
    pub total: u64,
    /// Per route, e.g. `GET /connectors`, `PUT /connectors/{name}/config`.
    pub routes: BTreeMap<String, u64>,
    /// Requests being answered right now.
    #[serde(default)]
    pub in_flight: u64,
    /// The most requests ever answered at the same time: shows whether a client sends
    /// requests concurrently, and within which bound, without timing anything.
    #[serde(default)]
    pub max_in_flight: u64,
}

impl ConnectStats {
    /// Requests counted for `route` (0 when none).
    pub fn route(&self, route: &str) -> u64 {
        self.routes.get(route).copied().unwrap_or(0)
    }

    pub(super) fn count(&mut self, method: &str, path: &str) {
        self.total += 1;
        *self.routes.entry(route_of(method, path)).or_default() += 1;
    }
}

/// The route template of a request: connector names, classes and task ids replaced.
fn route_of(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let templated: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| match (segments.first(), i) {
            (Some(&"connectors"), 1) => "{name}",
            (Some(&"connectors"), 3) if segments.get(2) == Some(&"tasks") => "{task}",
            (Some(&"connector-plugins"), 1) => "{class}",
            _ => s,
        })
        .collect();
    format!("{method} /{}", templated.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_in_order_and_routes() {
        let mut f = ConnectFaults {
            drop_next: 1,
            conflict_next: 2,
            error_next: 1,
            ..ConnectFaults::default()
        };
        let taken: Vec<Injected> = (0..5).map(|_| f.take()).collect();
        assert_eq!(
            taken,
            [
                Injected::Drop,
                Injected::Conflict,
                Injected::Conflict,
                Injected::Error,
                Injected::None
            ]
        );
        assert_eq!(route_of("GET", "/connectors"), "GET /connectors");
        assert_eq!(
            route_of("PUT", "/connectors/kusto%20sink/config"),
            "PUT /connectors/{name}/config"
        );
        assert_eq!(
            route_of("POST", "/connectors/k/tasks/0/restart"),
            "POST /connectors/{name}/tasks/{task}/restart"
        );
        assert_eq!(
            route_of("PUT", "/connector-plugins/com.x.Y/config/validate"),
            "PUT /connector-plugins/{class}/config/validate"
        );
        assert_eq!(route_of("GET", "/"), "GET /");
    }
}

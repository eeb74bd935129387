//! Where Kusto management commands go. Observe and apply are written once against this.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Idempotency, KustoClient};
use crate::kusto::v1::V1Response;
use crate::sandbox::kusto::{Caller, KustoSandbox};

/// A management-command failure, already worded for users (never containing secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What went wrong and what to do.
    pub message: String,
    /// The request may or may not have taken effect (response lost): re-observe before retrying.
    pub outcome_unknown: bool,
}

/// A Kusto management endpoint.
pub struct KustoTransport {
    kind: Kind,
    requests: AtomicUsize,
}

enum Kind {
    /// The built-in sandbox, in this process, persisted to a directory.
    Local(Arc<KustoSandbox>),
    /// A cluster (or a sandbox server) over HTTP.
    Http(Box<KustoClient>),
}

/// The identity the in-process sandbox sees: kustoplan runs as cluster admin of its own sandbox.
const LOCAL_CALLER: &str = "aaduser=kustoplan@localhost";

impl KustoTransport {
    /// The in-process sandbox.
    pub fn local(sandbox: Arc<KustoSandbox>) -> KustoTransport {
        KustoTransport {
            kind: Kind::Local(sandbox),
            requests: AtomicUsize::new(0),
        }
    }

    /// A cluster over HTTP.
    pub fn http(client: KustoClient) -> KustoTransport {
        KustoTransport {
            kind: Kind::Http(Box::new(client)),
            requests: AtomicUsize::new(0),
        }
    }

    /// Runs one management command in `db`. Only `.show` commands are retried after a lost
    /// response; a lost write is reported as outcome-unknown.
    pub async fn mgmt(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            db,
            command = csl.lines().next().unwrap_or(""),
            "kusto request"
        );
        match &self.kind {
            Kind::Local(sandbox) => sandbox
                .execute(db, csl, &Caller::cluster_admin(LOCAL_CALLER))
                .map_err(|e| TransportError {
                    message: format!("{}: {}", e.code, e.detail),
                    outcome_unknown: false,
                }),
            Kind::Http(client) => client
                .mgmt(db, csl, Idempotency::of_command(csl))
                .await
                .map_err(|e| TransportError {
                    message: e.to_string(),
                    outcome_unknown: e.is_outcome_unknown(),
                }),
        }
    }

    /// How many requests this transport has sent (for round-trip budgets and benchmarks).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

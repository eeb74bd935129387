//! Where Kusto management commands go. Observe and apply are written once against this.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Idempotency, KustoClient};
use crate::kusto::v1::{V1Response, V1Table};
use crate::model::ColumnType;
use crate::sandbox::kusto::{Caller, KustoSandbox, QueryResult};

/// A management-command failure, already worded for users (never containing secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What went wrong and what to do.
    pub message: String,
    /// The request may or may not have taken effect (response lost): re-observe before retrying.
    pub outcome_unknown: bool,
    /// The failures a caller branches on (the apply lease's rename is a compare-and-swap whose
    /// "already exists" answer is an outcome, not an error).
    pub failure: Failure,
}

impl TransportError {
    /// A failure of no particular kind, worded by the caller.
    pub fn other(message: impl Into<String>) -> Self {
        TransportError {
            message: message.into(),
            outcome_unknown: false,
            failure: Failure::Other,
        }
    }
}

/// What kind of service answer a failed command got, as far as callers need to tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Failure {
    /// The command names a table (or other entity) that does not exist.
    EntityNotFound,
    /// The command would create a name that exists (`.rename table A to B` with `B` there).
    EntityAlreadyExists,
    /// Anything else.
    #[default]
    Other,
}

impl Failure {
    /// Classifies a service error by its `code`, its `@type` and, when neither says, its
    /// message (the service's texts "... was not found." and "... already exists.").
    pub fn classify(code: Option<&str>, exception_type: Option<&str>, detail: &str) -> Failure {
        let says = |what: &str| {
            code.is_some_and(|c| c.contains(what))
                || exception_type.is_some_and(|t| t.contains(what))
        };
        if says("EntityNotFound") || detail.contains("' was not found.") {
            Failure::EntityNotFound
        } else if says("EntityAlreadyExists") || detail.ends_with("already exists.") {
            Failure::EntityAlreadyExists
        } else {
            Failure::Other
        }
    }
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
                    failure: Failure::classify(Some(&e.code), Some(&e.exception_type), &e.detail),
                }),
            Kind::Http(client) => client
                .mgmt(db, csl, Idempotency::of_command(csl))
                .await
                .map_err(|e| TransportError {
                    message: e.to_string(),
                    outcome_unknown: e.is_outcome_unknown(),
                    failure: e.failure(),
                }),
        }
    }

    /// Runs one query (not a management command) in `db`: `status` reads a table's last
    /// ingestion time this way. The in-process sandbox answers its query subset; over HTTP
    /// the query goes to `/v1/rest/query`.
    pub async fn query(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(db, query = csl, "kusto query");
        match &self.kind {
            Kind::Local(sandbox) => sandbox
                .query(db, csl, &Caller::cluster_admin(LOCAL_CALLER))
                .map(|result| V1Response::single(v1_table(&result)))
                .map_err(|e| TransportError {
                    message: format!("{}: {}", e.code, e.detail),
                    outcome_unknown: false,
                    failure: Failure::classify(Some(&e.code), Some(&e.exception_type), &e.detail),
                }),
            Kind::Http(client) => client.query(db, csl).await.map_err(|e| TransportError {
                message: e.to_string(),
                outcome_unknown: false,
                failure: e.failure(),
            }),
        }
    }

    /// Whether this is the in-process built-in sandbox (whose directory lease already keeps
    /// applies apart), not a live endpoint.
    pub fn is_local(&self) -> bool {
        matches!(self.kind, Kind::Local(_))
    }

    /// How many requests this transport has sent (for round-trip budgets and benchmarks).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

/// The in-process sandbox's query result as the v1 table `/v1/rest/query` would return, so
/// callers parse one shape whichever transport answered.
fn v1_table(result: &QueryResult) -> V1Table {
    let columns: Vec<(&str, ColumnType)> = result
        .columns
        .iter()
        .map(|(name, ty)| (name.as_str(), *ty))
        .collect();
    let mut table = V1Table::new("Table_0", &columns);
    for row in &result.rows {
        table.push(row.clone());
    }
    table
}

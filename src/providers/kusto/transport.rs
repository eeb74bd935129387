//! Where Kusto management commands go: [`KustoBackend`], the interface a Kusto cluster is
//! reached through (implemented by [`KustoClient`] over HTTP, and in-process by the built-in
//! sandbox), and [`KustoTransport`], which observe, apply, the lease, `status` and `import`
//! are written once against.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::client::first_line;
use super::{Idempotency, KustoClient, KustoClientError};
use crate::kusto::rows::{RowsError, V1Answer};
use crate::kusto::v1::V1Response;

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

/// A Kusto cluster as kustoplan needs it: management commands and queries in a database,
/// answered in the v1 response shape whichever implementation answers, with failures already
/// worded for users.
#[async_trait::async_trait]
pub trait KustoBackend: Send + Sync {
    /// Runs one management command in `db`. Only `.show` commands may be retried after a lost
    /// response; a lost write is reported as outcome-unknown.
    async fn mgmt(&self, db: &str, csl: &str) -> Result<V1Response, TransportError>;

    /// [`KustoBackend::mgmt`], answering with what arrived, to be read row by row (see
    /// [`Answer`]). A backend that builds its responses hands them over built.
    async fn mgmt_answer(&self, db: &str, csl: &str) -> Result<Answer, TransportError> {
        let response = self.mgmt(db, csl).await?;
        Ok(Answer {
            v1: V1Answer::Parsed(response),
            request_id: None,
            command: first_line(csl),
        })
    }

    /// Runs one query (not a management command) in `db`.
    async fn query(&self, db: &str, csl: &str) -> Result<V1Response, TransportError>;

    /// Whether the backend runs in this process: it has no queued ingestion, and its own
    /// directory lease (not the apply lease in Kusto) keeps applies apart.
    fn in_process(&self) -> bool;
}

#[async_trait::async_trait]
impl KustoBackend for KustoClient {
    async fn mgmt(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        KustoClient::mgmt(self, db, csl, Idempotency::of_command(csl))
            .await
            .map_err(command_error)
    }

    async fn mgmt_answer(&self, db: &str, csl: &str) -> Result<Answer, TransportError> {
        let (body, request_id) =
            KustoClient::mgmt_body(self, db, csl, Idempotency::of_command(csl))
                .await
                .map_err(command_error)?;
        Ok(Answer {
            v1: V1Answer::Body(body),
            request_id: Some(request_id),
            command: first_line(csl),
        })
    }

    async fn query(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        KustoClient::query(self, db, csl)
            .await
            .map_err(|e| TransportError {
                message: e.to_string(),
                outcome_unknown: false,
                failure: e.failure(),
            })
    }

    fn in_process(&self) -> bool {
        false
    }
}

/// A management command's failure over HTTP as the transport reports it, keeping whether its
/// outcome is unknown (a lost answer to a write).
fn command_error(e: KustoClientError) -> TransportError {
    TransportError {
        message: e.to_string(),
        outcome_unknown: e.is_outcome_unknown(),
        failure: e.failure(),
    }
}

/// A command's answer as it arrived: read by [`V1Answer::read_primary`], whose failures
/// [`Answer::failure`] words as the client words a bad answer to [`KustoBackend::mgmt`].
#[derive(Debug)]
pub struct Answer {
    /// The answer itself.
    pub v1: V1Answer,
    /// The request id of the attempt answered, when the answer came over HTTP.
    request_id: Option<String>,
    /// The command's first line.
    command: String,
}

impl Answer {
    /// Why reading the answer failed, for users: a body that is not a v1 response or that
    /// reports a partial failure as [`KustoClientError`] says it, a reader's own error as
    /// it is.
    pub fn failure<E: std::fmt::Display>(&self, e: RowsError<E>) -> TransportError {
        let request_id = self
            .request_id
            .clone()
            .unwrap_or_else(|| "none, in process".to_string());
        let command = self.command.clone();
        let message = match e {
            RowsError::Invalid(e) => KustoClientError::InvalidResponse {
                message: e.to_string(),
                request_id,
                command,
            }
            .to_string(),
            RowsError::PartialFailure(exceptions) => KustoClientError::PartialFailure {
                exceptions,
                request_id,
                command,
            }
            .to_string(),
            RowsError::NoTable => format!("unexpected result of `{command}`: no result table"),
            RowsError::Sink(e) => e.to_string(),
        };
        TransportError::other(message)
    }
}

/// A Kusto management endpoint, counted and logged: every request of observe, apply and the
/// lease goes through here to its [`KustoBackend`].
pub struct KustoTransport {
    backend: Arc<dyn KustoBackend>,
    requests: AtomicUsize,
}

impl KustoTransport {
    /// Requests go to `backend`.
    pub fn new(backend: Arc<dyn KustoBackend>) -> KustoTransport {
        KustoTransport {
            backend,
            requests: AtomicUsize::new(0),
        }
    }

    /// A cluster over HTTP.
    pub fn http(client: KustoClient) -> KustoTransport {
        KustoTransport::new(Arc::new(client))
    }

    /// Runs one management command in `db`. Only `.show` commands are retried after a lost
    /// response; a lost write is reported as outcome-unknown.
    pub async fn mgmt(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        self.count(db, csl);
        self.backend.mgmt(db, csl).await
    }

    /// [`KustoTransport::mgmt`], answering with what arrived, to be read row by row.
    pub async fn mgmt_answer(&self, db: &str, csl: &str) -> Result<Answer, TransportError> {
        self.count(db, csl);
        self.backend.mgmt_answer(db, csl).await
    }

    /// Counts and logs a management command about to be sent.
    fn count(&self, db: &str, csl: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            db,
            command = csl.lines().next().unwrap_or(""),
            "kusto request"
        );
    }

    /// Runs one query (not a management command) in `db`: `status` reads a table's last
    /// ingestion time this way.
    pub async fn query(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(db, query = csl, "kusto query");
        self.backend.query(db, csl).await
    }

    /// Whether the backend runs in this process ([`KustoBackend::in_process`]), not a live
    /// endpoint.
    pub fn in_process(&self) -> bool {
        self.backend.in_process()
    }

    /// How many requests this transport has sent (for round-trip budgets and benchmarks).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

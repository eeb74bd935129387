//! The Connect REST API as one exchange, whoever answers it: [`ConnectBackend`] is implemented
//! by [`super::http::HttpConnect`] (a worker over the network) and by the built-in sandbox (in
//! this process), so [`super::ConnectClient`] sends the same requests, classifies the same
//! answers, parses the same bodies and masks the same secrets for both, and this provider does
//! not depend on the sandbox.

use std::time::Duration;

use crate::providers::retry::TransportFault;

/// One REST request, as an HTTP server would receive it.
#[derive(Debug, Clone, Copy)]
pub struct RestRequest<'a> {
    /// HTTP method (`GET`, `PUT`, ...).
    pub method: &'a str,
    /// Raw (percent-encoded) path, e.g. `/connectors/my%20sink/config`, including the base
    /// URL's own path when the worker sits under one.
    pub path: &'a str,
    /// Raw query string without `?` (empty when absent).
    pub query: &'a str,
    /// Request body (empty when there is none).
    pub body: &'a [u8],
}

/// An HTTP answer of any status: the client decides what a status means, the same way for
/// every backend (errors carry Connect's `{"error_code", "message"}` body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestAnswer {
    /// HTTP status.
    pub status: u16,
    /// The body as sent (empty for 202/204).
    pub body: Vec<u8>,
    /// How long the server asked the client to wait (`Retry-After`), when it did.
    pub retry_after: Option<Duration>,
}

/// A request that got no answer: what went wrong on the way, for the retry decision and the
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer {
    /// The kind of failure, which decides whether a retry can help.
    pub fault: TransportFault,
    /// The underlying error's chain of causes, for the user (masked by the client).
    pub detail: String,
}

/// A Kafka Connect REST API: one request in, its answer out.
#[async_trait::async_trait]
pub trait ConnectBackend: Send + Sync {
    /// Sends one request tagged with `request_id` and returns the answer, whatever its status.
    async fn exchange(
        &self,
        request: RestRequest<'_>,
        request_id: &str,
    ) -> Result<RestAnswer, NoAnswer>;

    /// Whether the answers come from this process: nothing there is transient, so the client
    /// never retries an error from it.
    fn in_process(&self) -> bool;
}

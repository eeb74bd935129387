//! The Connect REST API answered in this process instead of over the network:
//! [`InProcessConnect`] is what the built-in sandbox implements, so [`super::ConnectClient`]
//! sends the same requests, parses the same bodies and masks the same secrets whichever side
//! answers, and this provider does not depend on the sandbox.

use serde_json::Value;

/// One REST request, as an HTTP server would receive it.
#[derive(Debug, Clone, Copy)]
pub struct RestRequest<'a> {
    /// HTTP method (`GET`, `PUT`, ...).
    pub method: &'a str,
    /// Raw (percent-encoded) path, e.g. `/connectors/my%20sink/config`.
    pub path: &'a str,
    /// Raw query string without `?` (empty when absent).
    pub query: &'a str,
    /// Request body.
    pub body: &'a [u8],
}

/// A successful answer: status and optional JSON body (202/204 answers have none).
#[derive(Debug, Clone, PartialEq)]
pub struct RestReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<Value>,
}

/// An error answer: HTTP status and Connect's message (its body's `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    /// HTTP status (also Connect's `error_code`).
    pub status: u16,
    /// Connect's message.
    pub message: String,
}

/// A Kafka Connect REST API in this process: one request in, Connect's answer out. Errors are
/// final (nothing in-process is transient), so the client does not retry them.
pub trait InProcessConnect: Send + Sync {
    /// Answers one REST request: `Ok` with status and body, or Connect's error.
    fn handle(&self, request: RestRequest<'_>) -> Result<RestReply, RestError>;
}

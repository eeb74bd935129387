//! Errors from the Kusto client.
//!
//! Every message names the request id (so users can quote it to Microsoft support or find
//! it in `.show commands`) and says what to do next. None holds a token or a secret: the
//! client never stores the `Authorization` header, and token errors are redacted at the
//! source ([`TokenError`]).

use std::fmt;
use std::time::Duration;

use crate::kusto::v1::ServiceError;

use super::auth::TokenError;

/// Why a Kusto request failed.
#[derive(Debug)]
pub enum KustoClientError {
    /// The service answered with an HTTP error status (after any retries).
    Http {
        /// HTTP status code.
        status: u16,
        /// The parsed error body: code, message, `@type`, `@permanent`, ... (boxed: it is
        /// large and errors travel through every `?`).
        error: Box<ServiceError>,
        /// `x-ms-client-request-id` of the last attempt.
        request_id: String,
        /// `x-ms-activity-id` the service answered with, when present.
        activity_id: Option<String>,
        /// First line of the command.
        command: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The request could not be delivered or the answer could not be read (after any retries).
    Transport {
        /// The transport error and its causes.
        message: String,
        /// `x-ms-client-request-id` of the last attempt.
        request_id: String,
        /// First line of the command.
        command: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer within the per-request timeout (after any retries).
    Timeout {
        /// The per-request timeout.
        timeout: Duration,
        /// `x-ms-client-request-id` of the last attempt.
        request_id: String,
        /// First line of the command.
        command: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A non-idempotent request was sent but its response was lost: it may have run fully,
    /// partly, or not at all. Never retried; the caller must observe the target again.
    OutcomeUnknown {
        /// What happened to the response.
        reason: String,
        /// `x-ms-client-request-id` of the attempt whose response was lost.
        request_id: String,
        /// First line of the command.
        command: String,
    },
    /// HTTP 200, but the result carries `Exceptions` (the command failed part-way).
    PartialFailure {
        /// The exception messages, in document order.
        exceptions: Vec<String>,
        /// `x-ms-client-request-id` of the request.
        request_id: String,
        /// First line of the command.
        command: String,
    },
    /// HTTP 200 with a body that is not a v1 response.
    InvalidResponse {
        /// The parse error.
        message: String,
        /// `x-ms-client-request-id` of the request.
        request_id: String,
        /// First line of the command.
        command: String,
    },
    /// No AAD token could be obtained, so no request was sent.
    Token(TokenError),
    /// The cluster URL cannot be used.
    InvalidClusterUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built (TLS backend initialisation).
    Setup {
        /// The error.
        message: String,
    },
}

impl KustoClientError {
    /// The client request id to quote to support, when a request was sent.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            KustoClientError::Http { request_id, .. }
            | KustoClientError::Transport { request_id, .. }
            | KustoClientError::Timeout { request_id, .. }
            | KustoClientError::OutcomeUnknown { request_id, .. }
            | KustoClientError::PartialFailure { request_id, .. }
            | KustoClientError::InvalidResponse { request_id, .. } => Some(request_id),
            KustoClientError::Token(_)
            | KustoClientError::InvalidClusterUrl { .. }
            | KustoClientError::Setup { .. } => None,
        }
    }

    /// The HTTP status, for [`KustoClientError::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            KustoClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What kind of service answer this is, for callers that branch on it (see
    /// [`Failure`](super::transport::Failure)); [`Failure::Other`](super::transport::Failure)
    /// for anything but an HTTP error.
    pub fn failure(&self) -> super::transport::Failure {
        match self {
            KustoClientError::Http { error, .. } => super::transport::Failure::classify(
                error.code(),
                match error.as_ref() {
                    ServiceError::Structured(body) => body.exception_type.as_deref(),
                    ServiceError::Text(_) => None,
                },
                error.detail(),
            ),
            _ => super::transport::Failure::Other,
        }
    }

    /// True when the request may or may not have taken effect, so apply must re-observe.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, KustoClientError::OutcomeUnknown { .. })
    }
}

/// What to do about an HTTP error status.
fn http_hint(status: u16) -> &'static str {
    match status {
        401 => {
            "The cluster rejected the credentials: check kusto.auth (method, tenant_id, client_id) \
             and that the token is issued for this cluster."
        }
        403 => {
            "The identity is authenticated but lacks a role on the database: grant one \
             (for example `.add database DB admins ('aadapp=APP_ID;TENANT_ID')`)."
        }
        404 => "Check the cluster URL and the database name in the manifest.",
        429 => "The cluster is throttling requests: retry later.",
        400..=499 => {
            "The service rejected the command. If the manifest is valid, this is a kustoplan \
             bug: report it with the request id."
        }
        500..=599 => {
            "The cluster is unavailable or failing: retry later; if it persists, contact \
             support with the request id."
        }
        _ => "Quote the request id when asking for support.",
    }
}

impl fmt::Display for KustoClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KustoClientError::Http {
                status,
                error,
                request_id,
                activity_id,
                command,
                attempts,
            } => {
                let code = error.code().unwrap_or("error");
                write!(
                    f,
                    "Kusto answered HTTP {status} ({code}) to `{command}`: {} \
                     [request id {request_id}",
                    error.detail()
                )?;
                if let Some(activity) = activity_id {
                    write!(f, ", activity id {activity}")?;
                }
                write!(f, ", {attempts} attempt(s)]. {}", http_hint(*status))
            }
            KustoClientError::Transport {
                message,
                request_id,
                command,
                attempts,
            } => write!(
                f,
                "cannot reach Kusto for `{command}`: {message} [request id {request_id}, \
                 {attempts} attempt(s)]. Check the cluster URL, DNS, proxy/firewall rules and \
                 network connectivity."
            ),
            KustoClientError::Timeout {
                timeout,
                request_id,
                command,
                attempts,
            } => write!(
                f,
                "Kusto did not answer `{command}` within {:.1}s [request id {request_id}, \
                 {attempts} attempt(s)]. Retry later or raise the request timeout.",
                timeout.as_secs_f64()
            ),
            KustoClientError::OutcomeUnknown {
                reason,
                request_id,
                command,
            } => write!(
                f,
                "the outcome of `{command}` is unknown: {reason} [request id {request_id}]. \
                 It may have run fully, partly or not at all, so it was not retried. Run \
                 `kustoplan plan` to observe the cluster before applying again."
            ),
            KustoClientError::PartialFailure {
                exceptions,
                request_id,
                command,
            } => write!(
                f,
                "`{command}` failed part-way: {} [request id {request_id}]. Run `kustoplan plan` \
                 to see what changed.",
                exceptions.join("; ")
            ),
            KustoClientError::InvalidResponse {
                message,
                request_id,
                command,
            } => write!(
                f,
                "Kusto's answer to `{command}` is not a v1 response: {message} [request id \
                 {request_id}]. Check that the cluster URL points at a Kusto endpoint."
            ),
            KustoClientError::Token(e) => write!(f, "{e}"),
            KustoClientError::InvalidClusterUrl { url, reason } => write!(
                f,
                "invalid Kusto cluster URL '{url}': {reason}. Use the cluster URI, e.g. \
                 https://mycluster.westeurope.kusto.windows.net"
            ),
            KustoClientError::Setup { message } => {
                write!(f, "cannot create the HTTP client: {message}")
            }
        }
    }
}

impl std::error::Error for KustoClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KustoClientError::Token(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TokenError> for KustoClientError {
    fn from(e: TokenError) -> Self {
        KustoClientError::Token(e)
    }
}

/// The error and all its causes, `: `-separated (reqwest's and azure_core's top-level
/// messages hide the cause, which is usually what the user needs to see).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_names_code_detail_request_id_and_next_step() {
        let e = KustoClientError::Http {
            status: 403,
            error: Box::new(ServiceError::parse(
                br#"{"error":{"code":"Forbidden","message":"Caller is not authorized","@message":"Principal 'aadapp=x' is not authorized to write database 'db'.","@permanent":true}}"#,
            )),
            request_id: "kustoplan;abc".into(),
            activity_id: Some("act-1".into()),
            command: ".create table T (a:int)".into(),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "Kusto answered HTTP 403 (Forbidden) to `.create table T (a:int)`: Principal \
             'aadapp=x' is not authorized to write database 'db'. [request id kustoplan;abc, \
             activity id act-1, 1 attempt(s)]. The identity is authenticated but lacks a role \
             on the database: grant one (for example `.add database DB admins \
             ('aadapp=APP_ID;TENANT_ID')`)."
        );
        assert_eq!(e.request_id(), Some("kustoplan;abc"));
        assert_eq!(e.status(), Some(403));
        assert!(!e.is_outcome_unknown());
    }
}

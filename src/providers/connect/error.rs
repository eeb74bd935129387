//! Errors from the Kafka Connect client.
//!
//! Every message names the request (method, path, request id) and says what to do next.
//! Connect's own messages can quote connector config values (`Connector config {name=..,
//! aad.auth.appkey=..} contains no connector type`), so the client masks them before they
//! are stored here: no variant ever holds a secret, and the password of the basic-auth
//! credentials is never part of an error.

use std::fmt;
use std::time::Duration;

/// Why a Kafka Connect request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectClientError {
    /// Connect answered with an HTTP error status (after any retries).
    Http {
        /// HTTP status code.
        status: u16,
        /// `error_code` of Connect's error body, when it sent one.
        error_code: Option<i64>,
        /// Connect's `message` (secrets masked), or the start of a non-Connect body.
        message: String,
        /// The request, e.g. `PUT /connectors/kusto-sink/config`.
        request: String,
        /// `X-Request-Id` of the last attempt.
        request_id: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The request could not be delivered or the answer could not be read (after retries).
    Transport {
        /// The transport error and its causes.
        message: String,
        /// The request.
        request: String,
        /// `X-Request-Id` of the last attempt.
        request_id: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer within the per-request timeout (after retries).
    Timeout {
        /// The per-request timeout.
        timeout: Duration,
        /// The request.
        request: String,
        /// `X-Request-Id` of the last attempt.
        request_id: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A success status with a body that is not what the endpoint returns.
    InvalidResponse {
        /// The parse error.
        message: String,
        /// The request.
        request: String,
        /// `X-Request-Id` of the request.
        request_id: String,
    },
    /// The Connect URL cannot be used.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The basic-auth password variable is unset or not Unicode.
    MissingCredential {
        /// The environment variable.
        variable: String,
    },
    /// The HTTP client could not be built (TLS backend initialisation).
    Setup {
        /// The error.
        message: String,
    },
}

impl ConnectClientError {
    /// The request id to look for in proxy logs, when a request was sent.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ConnectClientError::Http { request_id, .. }
            | ConnectClientError::Transport { request_id, .. }
            | ConnectClientError::Timeout { request_id, .. }
            | ConnectClientError::InvalidResponse { request_id, .. } => Some(request_id),
            ConnectClientError::InvalidUrl { .. }
            | ConnectClientError::MissingCredential { .. }
            | ConnectClientError::Setup { .. } => None,
        }
    }

    /// The HTTP status, for [`ConnectClientError::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for 404: the connector (or plugin) does not exist, which observe and delete
    /// treat as a state rather than a failure.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// What to do about an HTTP error status.
fn http_hint(status: u16, message: &str) -> &'static str {
    let missing_plugin = message.contains("Failed to find any class that implements Connector");
    match status {
        _ if missing_plugin => {
            "The connector plugin is not installed on the Connect workers: install the Kusto \
             sink (kafka-sink-azure-kusto) in plugin.path on every worker and restart them."
        }
        400 => {
            "Connect rejected the connector config: run `kustoplan plan` to see the validation \
             errors, fix the manifest and apply again."
        }
        401 | 403 => {
            "Connect rejected the credentials: check the basic-auth user name and the \
             environment variable holding its password."
        }
        404 => {
            "The connector does not exist (any more): run `kustoplan plan` again; if it \
             persists, check the Connect URL."
        }
        409 => {
            "The Connect cluster was still rebalancing after all retries: wait until the \
             workers settle and apply again."
        }
        500..=599 => {
            "The Connect worker failed to handle the request: check the worker logs around \
             this time and retry."
        }
        _ => "Check the Connect URL and any proxy in front of the workers.",
    }
}

impl fmt::Display for ConnectClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectClientError::Http {
                status,
                error_code,
                message,
                request,
                request_id,
                attempts,
            } => {
                write!(f, "Kafka Connect answered HTTP {status}")?;
                if let Some(code) = error_code.filter(|c| *c != i64::from(*status)) {
                    write!(f, " (error_code {code})")?;
                }
                write!(
                    f,
                    " to `{request}`: {message} [request id {request_id}, {attempts} \
                     attempt(s)]. {}",
                    http_hint(*status, message)
                )
            }
            ConnectClientError::Transport {
                message,
                request,
                request_id,
                attempts,
            } => write!(
                f,
                "cannot reach Kafka Connect for `{request}`: {message} [request id \
                 {request_id}, {attempts} attempt(s)]. Check the Connect URL, that the workers \
                 are up, and proxy/firewall rules."
            ),
            ConnectClientError::Timeout {
                timeout,
                request,
                request_id,
                attempts,
            } => write!(
                f,
                "Kafka Connect did not answer `{request}` within {:.1}s [request id \
                 {request_id}, {attempts} attempt(s)]. The workers may be overloaded or \
                 rebalancing: retry later or raise the request timeout.",
                timeout.as_secs_f64()
            ),
            ConnectClientError::InvalidResponse {
                message,
                request,
                request_id,
            } => write!(
                f,
                "Kafka Connect's answer to `{request}` cannot be read: {message} [request id \
                 {request_id}]. Check that the URL points at the Connect REST API (not a \
                 proxy page) and that the worker runs Kafka Connect 3.x or later."
            ),
            ConnectClientError::InvalidUrl { url, reason } => write!(
                f,
                "invalid Kafka Connect URL '{url}': {reason}. Use the REST endpoint of a \
                 worker, e.g. http://connect:8083"
            ),
            ConnectClientError::MissingCredential { variable } => write!(
                f,
                "the Kafka Connect basic-auth password is read from the environment variable \
                 {variable}, which is not set: export it (CI secret) and run again"
            ),
            ConnectClientError::Setup { message } => {
                write!(f, "cannot create the HTTP client: {message}")
            }
        }
    }
}

impl std::error::Error for ConnectClientError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_names_request_status_message_and_next_step() {
        let e = ConnectClientError::Http {
            status: 404,
            error_code: Some(404),
            message: "Connector kusto-sink not found".into(),
            request: "GET /connectors/kusto-sink".into(),
            request_id: "kustoplan-1".into(),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "Kafka Connect answered HTTP 404 to `GET /connectors/kusto-sink`: Connector \
             kusto-sink not found [request id kustoplan-1, 1 attempt(s)]. The connector does \
             not exist (any more): run `kustoplan plan` again; if it persists, check the \
             Connect URL."
        );
        assert!(e.is_not_found());
        assert_eq!(e.request_id(), Some("kustoplan-1"));
    }

    #[test]
    fn missing_plugin_gets_an_install_hint_whatever_the_status() {
        for status in [400, 500] {
            let e = ConnectClientError::Http {
                status,
                error_code: Some(i64::from(status)),
                message: "Failed to find any class that implements Connector and which name \
                          matches com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector"
                    .into(),
                request: "PUT /connectors/k/config".into(),
                request_id: "r".into(),
                attempts: 1,
            };
            assert!(e.to_string().contains("install the Kusto sink"), "{e}");
        }
    }
}

//! Sending one Connect request: the retry loop, one attempt, and the classification of
//! failures (which statuses and transport errors are retried).
//!
//! Every Connect request kustoplan sends is idempotent, so connection failures, lost
//! responses and timeouts are retried like 5xx, 429 and 409 (rebalance in progress).

use reqwest::{Method, StatusCode, Url};

use super::client::{APP_NAME, ConnectClient};
use super::error::ConnectClientError;
use super::rest::{NoAnswer, RestRequest};
use super::types::ErrorBody;
use crate::providers::retry::{Classified, Retry, TransportFault, with_retries};

/// A response with a success status.
pub(super) struct Answer {
    pub status: StatusCode,
    pub bytes: Vec<u8>,
    pub request_id: String,
}

/// One failed attempt and whether another may follow.
struct Failure {
    error: ConnectClientError,
    retry: Retry,
    reason: String,
}

impl Classified for Failure {
    fn retry(&self) -> Retry {
        self.retry
    }

    fn reason(&self) -> &str {
        &self.reason
    }
}

impl ConnectClient {
    /// Sends one request with retries; returns the first success, or the last failure.
    pub(super) async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ConnectClientError> {
        let url = self.url(segments, query)?;
        let request = describe(&method, &url);
        let base_id = format!("{APP_NAME}-{}", uuid::Uuid::new_v4());
        let request_id = |attempt: u32| {
            if attempt == 1 {
                base_id.clone()
            } else {
                format!("{base_id}.{attempt}")
            }
        };
        with_retries(
            &self.options.retry,
            "Kafka Connect request",
            request_id,
            |attempt, request_id| {
                tracing::debug!(request_id = %request_id, attempt, request = %request, "sending Kafka Connect request");
                let (method, url, body, request) = (&method, &url, body.as_deref(), &request);
                async move {
                    self.attempt(method, url, body, request, &request_id, attempt)
                        .await
                        .map_err(|failure| *failure)
                }
            },
        )
        .await
        .map_err(|failure| failure.error)
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        request: &str,
        request_id: &str,
        attempt: u32,
    ) -> Result<Answer, Box<Failure>> {
        let exchanged = self
            .backend
            .exchange(
                RestRequest {
                    method: method.as_str(),
                    path: url.path(),
                    query: url.query().unwrap_or(""),
                    body: body.unwrap_or(&[]),
                },
                request_id,
            )
            .await;
        let answer =
            exchanged.map_err(|e| self.transport_failure(&e, request, request_id, attempt))?;
        let status = StatusCode::from_u16(answer.status).map_err(|e| {
            Box::new(Failure {
                reason: format!("HTTP {}", answer.status),
                retry: Retry::Stop,
                error: ConnectClientError::InvalidResponse {
                    message: format!("HTTP {}: {e}", answer.status),
                    request: request.to_string(),
                    request_id: request_id.to_string(),
                },
            })
        })?;
        if status.is_success() {
            return Ok(Answer {
                status,
                bytes: answer.body,
                request_id: request_id.to_string(),
            });
        }
        let parsed = ErrorBody::parse(&answer.body);
        let raw_message = match &parsed {
            Some(b) => b.message.clone(),
            None => non_connect_body(&answer.body),
        };
        let message = self.mask_text(&raw_message);
        let retryable =
            !self.backend.in_process() && status_is_retryable(status.as_u16(), &raw_message);
        Err(Box::new(Failure {
            reason: format!("HTTP {}", status.as_u16()),
            retry: if retryable {
                Retry::After(answer.retry_after)
            } else {
                Retry::Stop
            },
            error: ConnectClientError::Http {
                status: status.as_u16(),
                error_code: parsed.map(|b| b.error_code),
                message,
                request: request.to_string(),
                request_id: request_id.to_string(),
                attempts: attempt,
            },
        }))
    }

    /// Every Connect request kustoplan sends is idempotent, so connection failures, lost
    /// responses and timeouts are all retried; not a request that could not be built, a host
    /// that does not resolve or an untrusted certificate, which no retry can fix.
    fn transport_failure(
        &self,
        e: &NoAnswer,
        request: &str,
        request_id: &str,
        attempt: u32,
    ) -> Box<Failure> {
        let retry = if e.fault.is_transient() {
            Retry::After(None)
        } else {
            Retry::Stop
        };
        let error = if e.fault == TransportFault::Timeout {
            ConnectClientError::Timeout {
                timeout: self.options.request_timeout,
                request: request.to_string(),
                request_id: request_id.to_string(),
                attempts: attempt,
            }
        } else {
            ConnectClientError::Transport {
                message: self.mask_text(&format!("{}: {}", e.fault.describe(), e.detail)),
                request: request.to_string(),
                request_id: request_id.to_string(),
                attempts: attempt,
            }
        };
        Box::new(Failure {
            reason: e.fault.describe().into(),
            error,
            retry,
        })
    }
}

/// Whether an HTTP error status may be retried: 409 (rebalance in progress or stale
/// config; not "already exists"), 429, and 5xx except Connect's 500 for a missing plugin class, which is
/// permanent (the validate endpoint wraps the `BadRequestException` in a 500).
pub(crate) fn status_is_retryable(status: u16, message: &str) -> bool {
    let permanent_500 = message.contains("BadRequestException")
        || message.contains("Failed to find any class that implements Connector");
    match status {
        // `POST /connectors` answers 409 for a name that exists: not transient.
        409 => !message.contains("already exists"),
        429 => true,
        500..=599 => !permanent_500,
        _ => false,
    }
}

/// `METHOD /path?query` for logs and errors (connector names are not secrets).
pub(super) fn describe(method: &Method, url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{method} {}?{q}", url.path()),
        None => format!("{method} {}", url.path()),
    }
}

/// The first 200 characters of a non-Connect error body (a proxy page, an empty body).
fn non_connect_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::providers::connect::rest::{ConnectBackend, RestAnswer};
    use crate::providers::retry::RetryPolicy;

    /// A worker that is always rebalancing: 409 with Connect's stale-configuration message.
    struct Rebalancing {
        in_process: bool,
        asked: AtomicU32,
    }

    #[async_trait::async_trait]
    impl ConnectBackend for Rebalancing {
        async fn exchange(
            &self,
            _request: RestRequest<'_>,
            _request_id: &str,
        ) -> Result<RestAnswer, NoAnswer> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Ok(RestAnswer {
                status: 409,
                body: br#"{"error_code":409,"message":"Cannot complete request momentarily due to stale configuration"}"#.to_vec(),
                retry_after: None,
            })
        }

        fn in_process(&self) -> bool {
            self.in_process
        }
    }

    /// The same answer is retried from a worker and final from this process, whose state
    /// cannot change between attempts.
    #[tokio::test]
    async fn only_a_remote_backend_is_retried() {
        for (in_process, attempts) in [(false, 3), (true, 1)] {
            let backend = Arc::new(Rebalancing {
                in_process,
                asked: AtomicU32::new(0),
            });
            let mut client = ConnectClient::local(backend.clone()).expect("client");
            client.options.retry = RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
                max_elapsed: Duration::from_secs(5),
                max_retry_after: Duration::from_millis(1),
            };
            let error = client.server_info().await.expect_err("409 every time");
            assert!(
                matches!(error, ConnectClientError::Http { status: 409, attempts: a, .. } if a == attempts),
                "{error:?}"
            );
            assert_eq!(
                backend.asked.load(Ordering::SeqCst),
                attempts,
                "in process: {in_process}"
            );
        }
    }

    #[test]
    fn retryable_statuses() {
        assert!(status_is_retryable(
            409,
            "Cannot complete request momentarily due to stale configuration (typically caused \
             by a concurrent config change)"
        ));
        assert!(!status_is_retryable(
            409,
            "Connector kusto-sink already exists"
        ));
        assert!(status_is_retryable(429, ""));
        assert!(status_is_retryable(500, "Request timed out"));
        assert!(status_is_retryable(503, ""));
        assert!(!status_is_retryable(
            500,
            "org.apache.kafka.connect.runtime.rest.errors.BadRequestException: \
             org.apache.kafka.connect.errors.ConnectException: Failed to find any class that \
             implements Connector and which name matches x"
        ));
        for s in [400, 401, 403, 404] {
            assert!(!status_is_retryable(s, ""), "{s}");
        }
    }
}

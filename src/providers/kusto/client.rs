//! The HTTP client for Kusto management commands.
//!
//! One place implements the protocol details users rely on: the request shape
//! (`POST {cluster}/v1/rest/mgmt` with `{"db","csl","properties"}`), identification headers
//! (`x-ms-client-request-id: kustoplan;<uuid>`, `x-ms-app`, `x-ms-client-version`), bearer
//! tokens, connect/request/server timeouts, bounded retries with backoff that respect
//! [`Idempotency`], and errors that carry the request id. It speaks to a real cluster and
//! to the sandbox alike.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::json;

use crate::kusto::v1::{ServiceError, V1Response};

use super::auth::TokenSource;
use super::error::{KustoClientError, error_chain};
use super::retry::{Idempotency, RetryPolicy, parse_retry_after, status_is_retryable};
use crate::providers::retry::{Classified, Retry, TransportFault, with_retries};

/// Value of `x-ms-app`, and the prefix of every client request id.
pub const APP_NAME: &str = "kustoplan";

/// Timeouts and retry bounds; the defaults suit CI runs against a production cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time allowed to open a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to reading the whole response.
    pub request_timeout: Duration,
    /// Sent as the `servertimeout` request property so the service gives up (with a clear
    /// error) before the client does; keep it below `request_timeout`. `None` omits it.
    pub server_timeout: Option<Duration>,
    /// When and how often to retry.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            server_timeout: Some(Duration::from_secs(50)),
            retry: RetryPolicy::default(),
        }
    }
}

/// A Kusto cluster endpoint with credentials; cheap to clone (connections and token cache
/// are shared).
#[derive(Debug, Clone)]
pub struct KustoClient {
    http: reqwest::Client,
    cluster: String,
    mgmt_url: reqwest::Url,
    query_url: reqwest::Url,
    tokens: TokenSource,
    options: ClientOptions,
}

/// One failed attempt and whether another may follow.
struct Failure {
    error: KustoClientError,
    retry: Retry,
    /// Short reason for the retry log line.
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

impl KustoClient {
    /// A client for `cluster_url` (`https://NAME.REGION.kusto.windows.net`, or the sandbox's
    /// `http://127.0.0.1:PORT`). No request is sent until a command runs.
    pub fn new(
        cluster_url: &str,
        tokens: TokenSource,
        options: ClientOptions,
    ) -> Result<Self, KustoClientError> {
        let invalid = |reason: &str| KustoClientError::InvalidClusterUrl {
            url: cluster_url.to_string(),
            reason: reason.to_string(),
        };
        let cluster = cluster_url.trim().trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&cluster).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(
                "the scheme must be https (or http for a local sandbox)",
            ));
        }
        if parsed.host_str().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("the URL must not have a query or fragment"));
        }
        let mgmt_url = reqwest::Url::parse(&format!("{cluster}/v1/rest/mgmt"))
            .map_err(|e| invalid(&e.to_string()))?;
        let query_url = reqwest::Url::parse(&format!("{cluster}/v1/rest/query"))
            .map_err(|e| invalid(&e.to_string()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(client_version())
            .default_headers(default_headers())
            .build()
            .map_err(|e| KustoClientError::Setup {
                message: error_chain(&e),
            })?;
        Ok(KustoClient {
            http,
            cluster,
            mgmt_url,
            query_url,
            tokens,
            options,
        })
    }

    /// The cluster URL, without a trailing slash.
    pub fn cluster_url(&self) -> &str {
        &self.cluster
    }

    /// Runs a management command in database `db` and returns its v1 result.
    ///
    /// Transient failures are retried within [`ClientOptions::retry`] as `idempotency`
    /// allows; all attempts share one request id (`kustoplan;<uuid>`, then `;2`, `;3`, ...).
    /// A 200 response carrying `Exceptions` is an error
    /// ([`KustoClientError::PartialFailure`]).
    pub async fn mgmt(
        &self,
        db: &str,
        csl: &str,
        idempotency: Idempotency,
    ) -> Result<V1Response, KustoClientError> {
        let (body, request_id) = self.send(&self.mgmt_url, db, csl, idempotency).await?;
        success(&body, &request_id, &first_line(csl))
    }

    /// [`KustoClient::mgmt`], answering with the body as it arrived and the request id of the
    /// attempt that got it, to be read row by row ([`crate::kusto::rows`]): the bulk reads of
    /// a large database are read without building every cell first. Reading it makes the
    /// checks [`KustoClient::mgmt`] makes (a v1 body, no partial failure); a body that fails
    /// them was never retried either.
    pub async fn mgmt_body(
        &self,
        db: &str,
        csl: &str,
        idempotency: Idempotency,
    ) -> Result<(bytes::Bytes, String), KustoClientError> {
        self.send(&self.mgmt_url, db, csl, idempotency).await
    }

    /// Runs a query (not a management command) in database `db` on `/v1/rest/query` and
    /// returns its v1 result; `status` reads a table's last ingestion time this way. Queries
    /// change nothing, so every transient failure is retried like a `.show` command.
    pub async fn query(&self, db: &str, csl: &str) -> Result<V1Response, KustoClientError> {
        let (body, request_id) = self
            .send(&self.query_url, db, csl, Idempotency::Safe)
            .await?;
        success(&body, &request_id, &first_line(csl))
    }

    /// One request to `url` with the retry loop shared by commands and queries: the body of
    /// the first successful answer, and the request id of its attempt.
    async fn send(
        &self,
        url: &reqwest::Url,
        db: &str,
        csl: &str,
        idempotency: Idempotency,
    ) -> Result<(bytes::Bytes, String), KustoClientError> {
        let base_id = format!("{APP_NAME};{}", uuid::Uuid::new_v4());
        let command = first_line(csl);
        let body = self.body(db, csl);
        let request_id = |attempt: u32| {
            if attempt == 1 {
                base_id.clone()
            } else {
                format!("{base_id};{attempt}")
            }
        };
        let outcome = with_retries(
            &self.options.retry,
            "Kusto command",
            request_id,
            |attempt, request_id| {
                tracing::debug!(
                    request_id = %request_id,
                    attempt,
                    db,
                    command = %command,
                    "sending Kusto management command"
                );
                let (command, body) = (&command, &body);
                async move {
                    self.attempt(url, &request_id, command, body, idempotency, attempt)
                        .await
                        .map_err(|failure| *failure)
                }
            },
        )
        .await;
        outcome.map_err(|failure| {
            if failure.error.is_outcome_unknown() {
                tracing::warn!(
                    command = %command,
                    "response lost for a non-idempotent command: outcome unknown, not retried"
                );
            }
            failure.error
        })
    }

    fn body(&self, db: &str, csl: &str) -> Vec<u8> {
        // `db` is optional for cluster-level commands such as `.show databases`: left out when
        // no database is in scope rather than sent empty.
        let mut body = if db.is_empty() {
            json!({ "csl": csl })
        } else {
            json!({ "db": db, "csl": csl })
        };
        if let Some(timeout) = self.options.server_timeout {
            body["properties"] = json!({ "Options": { "servertimeout": timespan(timeout) } });
        }
        body.to_string().into_bytes()
    }

    async fn attempt(
        &self,
        url: &reqwest::Url,
        request_id: &str,
        command: &str,
        body: &[u8],
        idempotency: Idempotency,
        attempt: u32,
    ) -> Result<(bytes::Bytes, String), Box<Failure>> {
        let authorization = self.tokens.authorization().await.map_err(|e| {
            Box::new(Failure {
                reason: "no token".into(),
                error: KustoClientError::Token(e),
                retry: Retry::Stop,
            })
        })?;
        let mut request = self
            .http
            .post(url.clone())
            .header("x-ms-client-request-id", request_id)
            .body(body.to_vec());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let sent = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_failure(&e, request_id, command, idempotency, attempt))?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let activity_id = header("x-ms-activity-id");
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_failure(&e, request_id, command, idempotency, attempt))?;
        tracing::debug!(
            request_id = %request_id,
            status = status.as_u16(),
            elapsed_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX),
            "Kusto answered"
        );
        if status.is_success() {
            return Ok((bytes, request_id.to_string()));
        }
        let error = ServiceError::parse(&bytes);
        let retryable = status_is_retryable(status.as_u16(), error.permanent(), idempotency);
        Err(Box::new(Failure {
            reason: format!(
                "HTTP {} {}",
                status.as_u16(),
                error
                    .code()
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or(""))
            ),
            retry: if retryable {
                Retry::After(retry_after)
            } else {
                Retry::Stop
            },
            error: KustoClientError::Http {
                status: status.as_u16(),
                error: Box::new(error),
                request_id: request_id.to_string(),
                activity_id,
                command: command.to_string(),
                attempts: attempt,
            },
        }))
    }

    /// Classifies a reqwest error. A request that never reached the service is retried
    /// unless retrying cannot help (a host that does not resolve, an untrusted certificate);
    /// one that may have run is retried only when [`Idempotency::Safe`].
    fn transport_failure(
        &self,
        e: &reqwest::Error,
        request_id: &str,
        command: &str,
        idempotency: Idempotency,
        attempt: u32,
    ) -> Box<Failure> {
        let fault = TransportFault::of(e);
        let message = format!("{}: {}", fault.describe(), error_chain(e));
        if fault.request_may_have_run() && idempotency == Idempotency::Unsafe {
            let reason = if fault == TransportFault::Timeout {
                format!(
                    "no response within the {:.1}s request timeout",
                    self.options.request_timeout.as_secs_f64()
                )
            } else {
                format!("the connection closed without a complete response ({message})")
            };
            return Box::new(Failure {
                reason: "response lost".into(),
                error: KustoClientError::OutcomeUnknown {
                    reason,
                    request_id: request_id.to_string(),
                    command: command.to_string(),
                },
                retry: Retry::Stop,
            });
        }
        let retry = if fault.is_transient() {
            Retry::After(None)
        } else {
            Retry::Stop
        };
        let error = if fault == TransportFault::Timeout {
            KustoClientError::Timeout {
                timeout: self.options.request_timeout,
                request_id: request_id.to_string(),
                command: command.to_string(),
                attempts: attempt,
            }
        } else {
            KustoClientError::Transport {
                message,
                request_id: request_id.to_string(),
                command: command.to_string(),
                attempts: attempt,
            }
        };
        Box::new(Failure {
            reason: fault.describe().into(),
            error,
            retry,
        })
    }
}

/// A successful answer's body as a v1 response. A body that is not one, or that reports a
/// partial failure, is an error that no retry can mend.
fn success(bytes: &[u8], request_id: &str, command: &str) -> Result<V1Response, KustoClientError> {
    let response = V1Response::parse(bytes).map_err(|e| KustoClientError::InvalidResponse {
        message: e.to_string(),
        request_id: request_id.to_string(),
        command: command.to_string(),
    })?;
    let exceptions = response.partial_failures();
    if !exceptions.is_empty() {
        return Err(KustoClientError::PartialFailure {
            exceptions: exceptions.into_iter().map(str::to_string).collect(),
            request_id: request_id.to_string(),
            command: command.to_string(),
        });
    }
    Ok(response)
}

/// `kustoplan/<crate version>`, sent as `x-ms-client-version` and `User-Agent`.
pub fn client_version() -> String {
    format!("{APP_NAME}/{}", env!("CARGO_PKG_VERSION"))
}

fn default_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert("x-ms-app", HeaderValue::from_static(APP_NAME));
    if let Ok(version) = HeaderValue::try_from(client_version()) {
        headers.insert("x-ms-client-version", version);
    }
    headers
}

/// The first line of a command, trimmed and shortened, for logs and errors (scripts can be
/// long; their first line says what they are).
pub(crate) fn first_line(csl: &str) -> String {
    let line = csl.trim().lines().next().unwrap_or("").trim();
    let mut short: String = line.chars().take(120).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// A Kusto timespan literal `[d.]hh:mm:ss[.fff]`.
fn timespan(d: Duration) -> String {
    let total = d.as_secs();
    let (days, hours) = (total / 86_400, (total / 3600) % 24);
    let (minutes, seconds) = ((total / 60) % 60, total % 60);
    let mut text = if days > 0 {
        format!("{days}.{hours:02}:{minutes:02}:{seconds:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
    };
    if d.subsec_millis() > 0 {
        text.push_str(&format!(".{:03}", d.subsec_millis()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(timespan(Duration::from_secs(50)), "00:00:50");
        assert_eq!(timespan(Duration::from_secs(3725)), "01:02:05");
        assert_eq!(timespan(Duration::from_millis(1500)), "00:00:01.500");
        assert_eq!(timespan(Duration::from_secs(90_000)), "1.01:00:00");
    }

    #[test]
    fn first_lines() {
        assert_eq!(
            first_line("\n .execute database script <|\n.create table T (a:int)"),
            ".execute database script <|"
        );
        assert_eq!(first_line(&"x".repeat(200)).chars().count(), 121);
    }

    #[test]
    fn cluster_urls() {
        let ok = |u: &str| KustoClient::new(u, TokenSource::none(), ClientOptions::default());
        assert_eq!(
            ok("https://help.kusto.windows.net/")
                .expect("valid")
                .mgmt_url
                .as_str(),
            "https://help.kusto.windows.net/v1/rest/mgmt"
        );
        for bad in ["ftp://x", "help.kusto.windows.net", "https://x/?a=b"] {
            let e = ok(bad).expect_err(bad);
            assert!(
                matches!(e, KustoClientError::InvalidClusterUrl { .. }),
                "{bad}: {e}"
            );
        }
    }
}

//! Backoff shared by every provider client: how long to wait before the next attempt and
//! when to give up.
//!
//! Which failures are retryable differs per protocol (Kusto's `@permanent`, Connect's 409
//! during a rebalance), so each client decides that itself; the waiting rules live here once
//! so that all network calls back off the same way. Free of I/O, so it is unit-tested
//! without a server.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use super::wait::{Wait, WaitOutcome};

/// Bounds on retrying a transient failure.
///
/// Both the number of attempts and the total time are bounded so that a CI job fails with
/// a clear error instead of hanging on a sick cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further attempt.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff (before jitter).
    pub max_backoff: Duration,
    /// No retry is started if waiting for it would pass this much time since the first
    /// attempt began.
    pub max_elapsed: Duration,
    /// Upper bound for a server-sent `Retry-After`, so one answer cannot park the run.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(180),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt `failed_attempt` (1-based) failed: the server's `Retry-After`
    /// (capped) when it sent one, else exponential backoff with jitter. Jitter is only ever
    /// added, so the wait is never shorter than what the server asked for.
    pub fn wait(&self, failed_attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => {
                asked.min(self.max_retry_after) + Duration::from_millis(fastrand::u64(0..=250))
            }
            None => {
                let base = self.exponential(failed_attempt);
                let half = base / 2;
                let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
                half + Duration::from_millis(fastrand::u64(0..=spread))
            }
        }
    }

    /// The wait before attempt `failed_attempt + 1`, or why no further attempt may start:
    /// the attempts are exhausted, or waiting would pass `max_elapsed` counted from the
    /// first attempt (`elapsed`).
    pub fn next_wait(
        &self,
        failed_attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Result<Duration, GiveUp> {
        if failed_attempt >= self.max_attempts.max(1) {
            return Err(GiveUp::AttemptsExhausted);
        }
        let wait = self.wait(failed_attempt, retry_after);
        if elapsed + wait > self.max_elapsed {
            return Err(GiveUp::TimeBudgetExceeded { wait });
        }
        Ok(wait)
    }

    /// `initial_backoff * 2^(failed_attempt - 1)`, capped at `max_backoff`.
    fn exponential(&self, failed_attempt: u32) -> Duration {
        let shift = failed_attempt.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff)
    }
}

/// Why [`RetryPolicy::next_wait`] refused another attempt (for the "giving up" log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `max_attempts` attempts were made.
    AttemptsExhausted,
    /// The next wait would end after `max_elapsed`.
    TimeBudgetExceeded {
        /// The wait that did not fit.
        wait: Duration,
    },
}

/// Whether another attempt may follow a failed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The failure is final: the same request would fail the same way, or repeating it could
    /// apply a change twice.
    Stop,
    /// Transient: try again, after the server's `Retry-After` when it sent one.
    After(Option<Duration>),
}

/// A failed attempt as its protocol classifies it. Kusto and Connect decide differently which
/// failures are transient (Kusto's `@permanent`, Connect's 409 during a rebalance); the loop
/// that acts on the decision is [`with_retries`], written once.
pub trait Classified {
    /// Whether another attempt may follow.
    fn retry(&self) -> Retry;
    /// A short reason for the log lines, e.g. `HTTP 503` or `connection refused`.
    fn reason(&self) -> &str;
}

/// Runs `attempt(n, request_id)` for n = 1, 2, ... until it succeeds, fails for good, or
/// `policy` gives up; returns the success or the last failure. `request_id(n)` names attempt n
/// (so the server's logs tell retries apart), and `what` names the request in the log lines,
/// e.g. `Kafka Connect request`.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    request_id: impl Fn(u32) -> String,
    mut attempt: impl FnMut(u32, String) -> Fut,
) -> Result<T, F>
where
    F: Classified,
    Fut: Future<Output = Result<T, F>>,
{
    let started = Instant::now();
    let mut n = 1u32;
    // A retry is one wait from its backoff until its attempt returns, so a progress line
    // names the fault being retried while the next attempt is still in flight.
    let mut retrying: Option<Wait> = None;
    loop {
        let id = request_id(n);
        let failure = match attempt(n, id.clone()).await {
            Ok(done) => {
                if let Some(wait) = retrying.take() {
                    wait.end(WaitOutcome::Done);
                }
                return Ok(done);
            }
            Err(failure) => failure,
        };
        if let Some(wait) = retrying.take() {
            wait.end(WaitOutcome::Failed(failure.reason().to_string()));
        }
        let Retry::After(retry_after) = failure.retry() else {
            tracing::debug!(request_id = %id, reason = %failure.reason(), "{what} failed (not retryable)");
            return Err(failure);
        };
        let wait = match policy.next_wait(n, started.elapsed(), retry_after) {
            Ok(wait) => wait,
            Err(give_up) => {
                let why = match give_up {
                    GiveUp::AttemptsExhausted => "retry attempts exhausted",
                    GiveUp::TimeBudgetExceeded { .. } => {
                        "the next retry would exceed the retry time budget"
                    }
                };
                tracing::warn!(request_id = %id, attempts = n, reason = %failure.reason(), "{what}: giving up: {why}");
                return Err(failure);
            }
        };
        tracing::warn!(
            request_id = %id,
            attempt = n,
            reason = %failure.reason(),
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying {what}"
        );
        retrying = Some(Wait::start(format!(
            "retrying {what} after {}: attempt {} of {} in {:.1}s",
            failure.reason(),
            n + 1,
            policy.max_attempts.max(1),
            wait.as_secs_f64()
        )));
        tokio::time::sleep(wait).await;
        n += 1;
    }
}

/// What went wrong below HTTP, named so that an error says which: a host that does not
/// resolve or a certificate that is not trusted fails at once (retrying cannot fix either),
/// while a refused connection or a timeout is retried and then reported as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFault {
    /// The request could not be built (a bad URL or header).
    Invalid,
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (untrusted or wrong certificate).
    Tls,
    /// Nothing listens on the port.
    Refused,
    /// No connection for another reason (network unreachable, connect timeout).
    Unreachable,
    /// No complete answer within the request timeout.
    Timeout,
    /// The connection broke after the request was sent: it may have run.
    Lost,
}

impl TransportFault {
    /// Classifies a reqwest error by its kind and the causes it wraps.
    pub fn of(e: &reqwest::Error) -> TransportFault {
        if e.is_builder() {
            return TransportFault::Invalid;
        }
        let mut dns = false;
        let mut tls = false;
        let mut refused = false;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            }
            let text = c.to_string().to_ascii_lowercase();
            dns |= text.contains("dns error") || text.contains("failed to lookup address");
            tls |= text.contains("certificate") || text.contains("tls handshake");
            cause = c.source();
        }
        if e.is_connect() {
            if dns {
                return TransportFault::Dns;
            }
            if tls {
                return TransportFault::Tls;
            }
            if refused {
                return TransportFault::Refused;
            }
            return TransportFault::Unreachable;
        }
        if e.is_timeout() {
            return TransportFault::Timeout;
        }
        TransportFault::Lost
    }

    /// Whether the server can have seen the request: only then may repeating it matter.
    pub fn request_may_have_run(self) -> bool {
        matches!(self, TransportFault::Timeout | TransportFault::Lost)
    }

    /// Whether a later attempt can succeed: not for a request that cannot be built, a host
    /// that does not resolve, or a certificate that is not trusted.
    pub fn is_transient(self) -> bool {
        !matches!(
            self,
            TransportFault::Invalid | TransportFault::Dns | TransportFault::Tls
        )
    }

    /// What to call it in errors and log lines.
    pub fn describe(self) -> &'static str {
        match self {
            TransportFault::Invalid => "invalid request",
            TransportFault::Dns => "DNS lookup failed (the host name does not resolve)",
            TransportFault::Tls => {
                "TLS handshake failed (certificate not trusted or not for this host)"
            }
            TransportFault::Refused => "connection refused (nothing listens on that port)",
            TransportFault::Unreachable => "cannot connect",
            TransportFault::Timeout => "timeout",
            TransportFault::Lost => "connection lost",
        }
    }
}

/// Reads a `Retry-After` value: delay seconds, or an HTTP-date (a date in the past means
/// "now"). Unreadable values are ignored, falling back to backoff.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure of the tests' made-up protocol.
    #[derive(Debug, PartialEq)]
    struct Fails(Retry, u32);

    impl Classified for Fails {
        fn retry(&self) -> Retry {
            self.0
        }

        fn reason(&self) -> &str {
            "made up"
        }
    }

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success_with_a_new_request_id_each() {
        let mut seen = Vec::new();
        let outcome = with_retries(
            &quick(5),
            "test request",
            |n| format!("id.{n}"),
            |n, id| {
                seen.push(id);
                async move {
                    if n < 3 {
                        Err(Fails(Retry::After(None), n))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(outcome, Ok(3));
        assert_eq!(seen, ["id.1", "id.2", "id.3"]);
    }

    #[tokio::test]
    async fn a_final_failure_is_returned_at_once() {
        let mut attempts = 0;
        let outcome: Result<(), Fails> = with_retries(
            &quick(5),
            "test request",
            |n| n.to_string(),
            |n, _| {
                attempts += 1;
                async move { Err(Fails(Retry::Stop, n)) }
            },
        )
        .await;
        assert_eq!(outcome, Err(Fails(Retry::Stop, 1)));
        assert_eq!(attempts, 1);
    }

    #[tokio::test]
    async fn the_last_failure_is_returned_when_attempts_run_out() {
        let outcome: Result<(), Fails> = with_retries(
            &quick(3),
            "test request",
            |n| n.to_string(),
            |n, _| async move { Err(Fails(Retry::After(Some(Duration::ZERO)), n)) },
        )
        .await;
        assert_eq!(outcome, Err(Fails(Retry::After(Some(Duration::ZERO)), 3)));
    }

    /// Records every wait event of the process (the lib tests install no other observer).
    struct Recorder(std::sync::Mutex<Vec<crate::providers::wait::WaitEvent>>);

    impl crate::providers::wait::WaitObserver for Recorder {
        fn event(&self, event: &crate::providers::wait::WaitEvent) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(event.clone());
        }
    }

    #[tokio::test]
    async fn each_retry_is_a_wait_naming_the_attempt_the_fault_and_the_delay() {
        use crate::providers::wait::{WaitEvent, WaitOutcome, set_observer};
        let recorder = std::sync::Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
        assert!(
            set_observer(recorder.clone()),
            "one observer per test process"
        );
        let outcome = with_retries(
            &quick(3),
            "observed request",
            |n| n.to_string(),
            |n, _| async move {
                if n < 3 {
                    Err(Fails(Retry::After(Some(Duration::ZERO)), n))
                } else {
                    Ok(n)
                }
            },
        )
        .await;
        assert_eq!(outcome, Ok(3));
        let events = recorder.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut ids = Vec::new();
        let mut seen = Vec::new();
        for event in &events {
            match event {
                WaitEvent::Started { id, what, .. } if what.contains("observed request") => {
                    ids.push(*id);
                    seen.push(what.split(" in ").next().unwrap_or_default().to_string());
                }
                WaitEvent::Ended { id, outcome, .. } if ids.contains(id) => {
                    seen.push(format!("{outcome:?}"));
                }
                _ => {}
            }
        }
        assert_eq!(
            seen,
            [
                "retrying observed request after made up: attempt 2 of 3".to_string(),
                format!("{:?}", WaitOutcome::Failed("made up".into())),
                "retrying observed request after made up: attempt 3 of 3".to_string(),
                format!("{:?}", WaitOutcome::Done),
            ]
        );
    }

    async fn fault_of(request: reqwest::RequestBuilder) -> TransportFault {
        match request.send().await {
            Ok(response) => panic!("expected a transport error, got HTTP {}", response.status()),
            Err(e) => TransportFault::of(&e),
        }
    }

    #[tokio::test]
    async fn transport_faults_are_told_apart() {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .expect("client");
        // The resolver's answer for a name that cannot exist is not bounded by this test's
        // short timeout (a slow resolver made it a timeout once): it gets a client of its own.
        let resolving = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        assert_eq!(
            fault_of(resolving.get("http://no-such-host.invalid/")).await,
            TransportFault::Dns
        );
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        assert_eq!(
            fault_of(client.get(format!("http://127.0.0.1:{port}/"))).await,
            TransportFault::Refused
        );
        // Accepts, reads the request, never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let silent_addr = silent.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                held.push(socket);
            }
        });
        assert_eq!(
            fault_of(client.get(format!("http://{silent_addr}/"))).await,
            TransportFault::Timeout
        );
        // Accepts, reads the request, hangs up without an answer.
        let rude = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let rude_addr = rude.local_addr().expect("addr");
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            while let Ok((mut socket, _)) = rude.accept().await {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
            }
        });
        assert_eq!(
            fault_of(client.get(format!("http://{rude_addr}/"))).await,
            TransportFault::Lost
        );
        assert_eq!(
            fault_of(client.get("http://[::1")).await,
            TransportFault::Invalid
        );
    }

    #[test]
    fn only_faults_a_retry_can_fix_are_transient() {
        for fault in [
            TransportFault::Invalid,
            TransportFault::Dns,
            TransportFault::Tls,
        ] {
            assert!(!fault.is_transient(), "{fault:?}");
        }
        for fault in [
            TransportFault::Refused,
            TransportFault::Unreachable,
            TransportFault::Timeout,
            TransportFault::Lost,
        ] {
            assert!(fault.is_transient(), "{fault:?}");
        }
        assert!(TransportFault::Lost.request_may_have_run());
        assert!(TransportFault::Timeout.request_may_have_run());
        assert!(!TransportFault::Refused.request_may_have_run());
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 01:00:00 GMT").expect("date");
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 01:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 00:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jitter_stays_in_range() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        assert_eq!(p.exponential(1), Duration::from_millis(100));
        assert_eq!(p.exponential(2), Duration::from_millis(200));
        assert_eq!(p.exponential(4), Duration::from_millis(800));
        assert_eq!(p.exponential(5), Duration::from_millis(1000));
        assert_eq!(p.exponential(100), Duration::from_millis(1000));
        for attempt in 1..8 {
            let base = p.exponential(attempt);
            let w = p.wait(attempt, None);
            assert!(w >= base / 2 && w <= base, "{attempt}: {w:?} vs {base:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_capped_and_never_shortened() {
        let p = RetryPolicy {
            max_retry_after: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let w = p.wait(1, Some(Duration::from_secs(3)));
        assert!(w >= Duration::from_secs(3) && w <= Duration::from_millis(3250));
        let capped = p.wait(1, Some(Duration::from_secs(3600)));
        assert!(capped >= Duration::from_secs(10) && capped <= Duration::from_millis(10250));
    }

    #[test]
    fn next_wait_bounds_attempts_and_time() {
        let p = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
            max_elapsed: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let w = p
            .next_wait(1, Duration::ZERO, None)
            .expect("second attempt");
        assert!(w >= Duration::from_millis(50) && w <= Duration::from_millis(100));
        assert!(p.next_wait(2, Duration::ZERO, None).is_ok());
        assert_eq!(
            p.next_wait(3, Duration::ZERO, None),
            Err(GiveUp::AttemptsExhausted)
        );
        assert!(matches!(
            p.next_wait(1, Duration::from_millis(990), None),
            Err(GiveUp::TimeBudgetExceeded { .. })
        ));
    }
}

//! What may be retried, and how long to wait first.
//!
//! Kept free of I/O so the policy (which statuses, how long, how often) is unit-tested
//! without a server.

use std::time::{Duration, SystemTime};

/// Whether repeating a request can change the outcome compared with sending it once.
///
/// Management writes such as `.execute database script` run their commands one by one and
/// are not transactional: if the response is lost, some commands may already have run.
/// Repeating such a request blindly could double-apply or hide what happened, so the caller
/// must say whether a request is safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating is harmless (`.show ...` and other reads): retry after any transient failure,
    /// including a timeout or a connection closed mid-response.
    Safe,
    /// Repeating may apply changes twice: retry only when the service provably did not run
    /// the request (connection refused, 429, 503); a lost response is reported as
    /// [`KustoClientError::OutcomeUnknown`](super::KustoClientError::OutcomeUnknown).
    Unsafe,
}

impl Idempotency {
    /// The conservative default for a command text: `.show` commands are [`Idempotency::Safe`],
    /// everything else [`Idempotency::Unsafe`].
    pub fn of_command(csl: &str) -> Self {
        let head = csl.trim_start();
        let is_show = head
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(".show"))
            && head[5..].starts_with(|c: char| c.is_whitespace());
        if is_show {
            Idempotency::Safe
        } else {
            Idempotency::Unsafe
        }
    }
}

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
    pub(crate) fn wait(&self, failed_attempt: u32, retry_after: Option<Duration>) -> Duration {
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

    /// `initial_backoff * 2^(failed_attempt - 1)`, capped at `max_backoff`.
    fn exponential(&self, failed_attempt: u32) -> Duration {
        let shift = failed_attempt.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff)
    }
}

/// Whether an HTTP error status may be retried.
///
/// 429 always (the request was rejected before running). Other statuses are not retried
/// when the service marked the error `@permanent: true`. 503 means the service refused the
/// request, so it is retried even for [`Idempotency::Unsafe`]; other 5xx (500, 502, 504)
/// may come after the command ran, so only [`Idempotency::Safe`] requests repeat them.
/// Other 4xx never: the same request will fail the same way.
pub(crate) fn status_is_retryable(
    status: u16,
    permanent: Option<bool>,
    idempotency: Idempotency,
) -> bool {
    match status {
        429 => true,
        _ if permanent == Some(true) => false,
        503 => true,
        500..=599 => idempotency == Idempotency::Safe,
        _ => false,
    }
}

/// Reads a `Retry-After` value: delay seconds, or an HTTP-date (a date in the past means
/// "now"). Unreadable values are ignored, falling back to backoff.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
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

    #[test]
    fn show_commands_are_safe_everything_else_unsafe() {
        assert_eq!(Idempotency::of_command(".show version"), Idempotency::Safe);
        assert_eq!(
            Idempotency::of_command("  .SHOW database db schema as json"),
            Idempotency::Safe
        );
        assert_eq!(
            Idempotency::of_command(".showx"),
            Idempotency::Unsafe,
            "not a .show command"
        );
        assert_eq!(
            Idempotency::of_command(".execute database script <|\n.create table T (a:int)"),
            Idempotency::Unsafe
        );
        assert_eq!(
            Idempotency::of_command(".create table T (a:int)"),
            Idempotency::Unsafe
        );
        assert_eq!(Idempotency::of_command(""), Idempotency::Unsafe);
    }

    #[test]
    fn statuses() {
        use Idempotency::{Safe, Unsafe};
        assert!(status_is_retryable(429, None, Unsafe));
        assert!(status_is_retryable(429, Some(true), Safe));
        assert!(status_is_retryable(503, None, Unsafe));
        assert!(status_is_retryable(503, Some(false), Safe));
        assert!(!status_is_retryable(503, Some(true), Safe));
        assert!(status_is_retryable(500, None, Safe));
        assert!(!status_is_retryable(500, None, Unsafe));
        assert!(!status_is_retryable(502, Some(false), Unsafe));
        assert!(status_is_retryable(504, None, Safe));
        for s in [400, 401, 403, 404, 409] {
            assert!(!status_is_retryable(s, None, Safe), "{s}");
            assert!(!status_is_retryable(s, Some(false), Safe), "{s}");
        }
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
}

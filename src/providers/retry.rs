//! Backoff shared by every provider client: how long to wait before the next attempt and
//! when to give up.
//!
//! Which failures are retryable differs per protocol (Kusto's `@permanent`, Connect's 409
//! during a rebalance), so each client decides that itself; the waiting rules live here once
//! so that all network calls back off the same way. Free of I/O, so it is unit-tested
//! without a server.

use std::time::{Duration, SystemTime};

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

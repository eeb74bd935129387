//! What may be retried, and how long to wait first.
//!
//! Kept free of I/O so the policy (which statuses, how long, how often) is unit-tested
//! without a server.

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

pub use crate::providers::retry::RetryPolicy;
pub(crate) use crate::providers::retry::parse_retry_after;

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
}

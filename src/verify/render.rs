//! The verification report as text (one line per check, then what remains to do) and as one
//! JSON document (`--format json`), with stable field names.

use std::fmt::Write as _;

use serde_json::json;

use super::{Cleanup, Outcome, VerifyReport};
use crate::text::{Style, paint};

/// Version of the JSON document's shape.
pub const FORMAT_VERSION: u32 = 1;

/// One line per check: verified with its latency, failed with the reason, or not verified
/// and why; then the cleanup of each canary; then a summary line.
pub fn text(report: &VerifyReport, color: bool) -> String {
    let paint = |style: Style, s: &str| paint(color, style, s);
    let mut out = String::new();
    if report.checks.is_empty() {
        out.push_str("Nothing to verify: no route or table was selected.\n");
        return out;
    }
    for c in &report.checks {
        let label = c.check.label();
        let line = match &c.outcome {
            Outcome::Verified { latency } => format!(
                "{} {label}: canary queryable after {:.1}s (expected up to {}s)",
                paint(Style::Green, "✓ verified"),
                latency.as_secs_f64(),
                c.check.expected_wait.as_secs()
            ),
            Outcome::Failed { reason } => {
                format!("{} {label}: {reason}", paint(Style::Red, "✗ failed"))
            }
            Outcome::NotVerified { reason } => {
                format!(
                    "{} {label}: {reason}",
                    paint(Style::Yellow, "- not verified")
                )
            }
        };
        let _ = writeln!(out, "{line}");
        match &c.cleanup {
            Cleanup::Removed { .. } => {
                let _ = writeln!(out, "    canary removed; none remains");
            }
            Cleanup::NothingSent => {}
            Cleanup::Left { reason, command } => {
                let _ = writeln!(
                    out,
                    "    {} {reason}: {command}",
                    paint(Style::Yellow, "canary may remain:")
                );
            }
        }
    }
    let count = |f: fn(&Outcome) -> bool| report.checks.iter().filter(|c| f(&c.outcome)).count();
    let _ = writeln!(
        out,
        "Verify: {} verified, {} failed, {} not verified.",
        count(|o| matches!(o, Outcome::Verified { .. })),
        count(|o| matches!(o, Outcome::Failed { .. })),
        count(|o| matches!(o, Outcome::NotVerified { .. })),
    );
    out
}

/// `{"format_version", "ok", "checks": [...]}`: each check with `database`, `table`, `via`
/// (`route` with `cluster`, `connector`, `topic`, `format`, `mapping`, `streaming`,
/// `flush_interval`; or `queued_ingestion`), `expected_wait` (seconds), `marker`, `result`
/// (`verified` with `latency_seconds`, `failed` or `not_verified` with `reason`) and
/// `cleanup` (`removed` with `cleanup_command`, `nothing_sent`, or `left` with
/// `cleanup_reason` and `cleanup_command`).
pub fn json(report: &VerifyReport) -> String {
    let doc = json!({
        "format_version": FORMAT_VERSION,
        "ok": !report.failed(),
        "checks": report.checks,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        json!({"format_version": FORMAT_VERSION, "ok": false, "error": e.to_string()}).to_string()
    });
    text.push('\n');
    text
}

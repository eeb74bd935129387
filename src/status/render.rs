//! `status` output: text for people, JSON (fields documented in the README) for scripts.

use std::fmt::Write;

use super::{ConnectorReport, Failures, Health, Lag, StatusReport};
use crate::text::{Style, paint};

fn state_style(state: &str) -> Style {
    match state {
        "RUNNING" => Style::Green,
        "FAILED" | "MISSING" => Style::Red,
        _ => Style::Yellow,
    }
}

/// The report as text: per connector its state and worker, its tasks with their last error,
/// and per route the lag of each partition; a summary line last.
pub fn text(report: &StatusReport, color: bool) -> String {
    let mut out = String::new();
    if report.connectors.is_empty() {
        let _ = writeln!(out, "The stack declares no sinks: nothing to report.");
        return out;
    }
    for c in &report.connectors {
        connector(&mut out, c, color);
    }
    let count = |h: Health| report.connectors.iter().filter(|c| c.health == h).count();
    let summary = format!(
        "Status: {} healthy, {} degraded, {} failed.",
        count(Health::Healthy),
        count(Health::Degraded),
        count(Health::Failed)
    );
    let _ = writeln!(out, "{}", paint(color, Style::Bold, &summary));
    out
}

fn connector(out: &mut String, c: &ConnectorReport, color: bool) {
    let state = c.state.as_deref().unwrap_or("MISSING");
    let declared = match c.declared_state {
        crate::model::connect::RunState::Running => "RUNNING",
        crate::model::connect::RunState::Paused => "PAUSED",
        crate::model::connect::RunState::Stopped => "STOPPED",
    };
    let worker = c
        .worker
        .as_deref()
        .map(|w| format!(" on {w}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: {}{worker} (declared {declared})",
        paint(color, Style::Bold, c.address.as_str()),
        paint(color, state_style(state), state)
    );
    if c.state.is_none() {
        let _ = writeln!(
            out,
            "  the connector does not exist; `kustoplan apply` creates it"
        );
    }
    if let Some(error) = &c.error {
        for line in error.lines() {
            let _ = writeln!(out, "  error: {line}");
        }
    }
    for t in &c.tasks {
        let _ = writeln!(
            out,
            "  task {}: {} on {}",
            t.id,
            paint(color, state_style(&t.state), &t.state),
            t.worker
        );
        if let Some(error) = &t.error {
            for line in error.lines() {
                let _ = writeln!(out, "    error: {line}");
            }
        }
    }
    for r in &c.routes {
        let _ = writeln!(
            out,
            "  route {} -> {}.{} (group {}): {}",
            r.topic,
            r.database,
            r.table,
            c.group,
            lag_summary(&r.lag)
        );
        let last = r
            .last_ingestion
            .as_deref()
            .map_or_else(|| "no rows".to_string(), |t| format!("last ingestion {t}"));
        match &r.table_error {
            Some(e) => {
                let _ = writeln!(out, "    table: {}", paint(color, Style::Yellow, e));
            }
            None => {
                let _ = writeln!(out, "    table: {last}");
            }
        }
        let _ = writeln!(out, "    {}", failures_summary(&r.failures, color));
        for p in &r.lag.partitions {
            let committed = p.committed.map_or_else(
                || "no committed offset".to_string(),
                |o| format!("committed {o}"),
            );
            let _ = writeln!(
                out,
                "    partition {}: lag {} ({committed}, high watermark {}, low watermark {})",
                p.partition, p.lag, p.high_watermark, p.low_watermark
            );
        }
    }
}

fn failures_summary(f: &Failures, color: bool) -> String {
    if !f.available {
        let reason = f.reason.as_deref().unwrap_or("not read");
        return format!(
            "ingestion failures unavailable: {}",
            paint(color, Style::Yellow, reason)
        );
    }
    let Some(last) = &f.last else {
        return format!("no ingestion failures since {}", f.since);
    };
    let style = if f.permanent > 0 {
        Style::Red
    } else {
        Style::Yellow
    };
    let counts = format!(
        "{} ingestion failure(s) since {} ({} permanent)",
        f.count, f.since, f.permanent
    );
    format!(
        "{}; last at {} ({}): {}",
        paint(color, style, &counts),
        last.failed_on,
        last.kind,
        last.reason()
    )
}

fn lag_summary(lag: &Lag) -> String {
    match (lag.total, &lag.reason) {
        (Some(total), _) => format!("lag {total}"),
        (None, Some(reason)) => format!("lag unavailable: {reason}"),
        (None, None) => "lag unavailable".to_string(),
    }
}

/// The report as pretty JSON with stable field names (see the README's "Status JSON").
pub fn json(report: &StatusReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(report).map(|text| text + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::connect::RunState;
    use crate::status::{IngestionFailure, PartitionLag, RouteReport, TaskReport};

    fn report() -> StatusReport {
        let c = ConnectorReport {
            address: crate::plan::Address::connector("main", "sink"),
            cluster: "main".into(),
            name: "sink".into(),
            declared_state: RunState::Running,
            state: Some("RUNNING".into()),
            worker: Some("w:8083".into()),
            error: None,
            tasks: vec![TaskReport {
                id: 0,
                state: "FAILED".into(),
                worker: "w:8083".into(),
                error: Some("ConnectException: boom".into()),
            }],
            group: "connect-sink".into(),
            routes: vec![RouteReport {
                topic: "t".into(),
                database: "db".into(),
                table: "T".into(),
                lag: Lag::of(vec![PartitionLag {
                    partition: 0,
                    committed: None,
                    low_watermark: 0,
                    high_watermark: 3,
                    lag: 3,
                }]),
                last_ingestion: Some("2026-12-05T05:00:00Z".into()),
                table_error: None,
                failures: Failures::since(
                    "2026-12-05T04:00:00Z",
                    0,
                    vec![(
                        1,
                        IngestionFailure {
                            failed_on: "2026-12-05T05:10:00Z".into(),
                            kind: "Permanent".into(),
                            error_code: "Stream_ClosingQuoteMissing".into(),
                            details: "bad csv".into(),
                        },
                    )],
                ),
                health: Health::Failed,
            }],
            health: Health::Failed,
        };
        StatusReport::new("s".into(), Some("prod".into()), vec![c])
    }

    #[test]
    fn text_shows_states_errors_and_lag_per_partition() {
        let text = text(&report(), false);
        assert_eq!(
            text,
            "connect.main.connector.sink: RUNNING on w:8083 (declared RUNNING)\n  \
             task 0: FAILED on w:8083\n    error: ConnectException: boom\n  \
             route t -> db.T (group connect-sink): lag 3\n    \
             table: last ingestion 2026-12-05T05:00:00Z\n    \
             1 ingestion failure(s) since 2026-12-05T04:00:00Z (1 permanent); last at \
             2026-12-05T05:10:00Z (Permanent): Stream_ClosingQuoteMissing: bad csv\n    \
             partition 0: lag 3 (no committed offset, high watermark 3, low watermark 0)\n\
             Status: 0 healthy, 0 degraded, 1 failed.\n"
        );
    }

    #[test]
    fn json_has_the_documented_fields() {
        let value: serde_json::Value =
            serde_json::from_str(&json(&report()).expect("serialise")).expect("json");
        assert_eq!(value["format_version"], 1);
        assert_eq!(value["health"], "failed");
        let c = &value["connectors"][0];
        assert_eq!(c["declared_state"], "RUNNING");
        assert_eq!(c["tasks"][0]["error"], "ConnectException: boom");
        assert_eq!(c["routes"][0]["lag"]["total"], 3);
        let route = &c["routes"][0];
        assert_eq!(route["last_ingestion"], "2026-12-05T05:00:00Z");
        assert_eq!(route["table_error"], serde_json::Value::Null);
        assert_eq!(route["health"], "failed");
        assert_eq!(route["failures"]["count"], 1);
        assert_eq!(route["failures"]["permanent"], 1);
        assert_eq!(route["failures"]["since"], "2026-12-05T04:00:00Z");
        assert_eq!(
            route["failures"]["last"]["error_code"],
            "Stream_ClosingQuoteMissing"
        );
        assert_eq!(route["failures"]["last"]["details"], "bad csv");
        assert_eq!(
            c["routes"][0]["lag"]["partitions"][0]["committed"],
            serde_json::Value::Null
        );
    }
}

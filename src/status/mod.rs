//! `kustoplan status`: is ingestion running, and is it keeping up? Per declared sink, the
//! connector's and tasks' states, the last task error, and per route the consumer group's lag
//! on each partition of the route's topic, the table's last ingestion time and the ingestion
//! failures Kusto recorded for the table since `--since`.
//!
//! Plan answers "do the live systems match the manifests"; status answers the operational
//! question a pipeline owner asks next. The report model and its health rules are here (pure),
//! gathering is in [`collect`] (through the providers), output in [`render`].

pub mod collect;
pub mod render;

use serde::Serialize;

use crate::model::connect::RunState;

/// Version of the JSON document `status --format json` prints; bumped on incompatible changes.
pub const STATUS_VERSION: u32 = 1;

/// Longest error line kept from a trace: the first line names the exception and its message;
/// the rest of a Java stack trace helps nobody reading a status.
const MAX_ERROR_LINE: usize = 500;

/// How healthy a connector (or the whole stack) is; drives the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// The connector and all its tasks are in the declared state (RUNNING, or PAUSED/STOPPED
    /// when the manifest says so).
    Healthy,
    /// Not failed, but not in the declared state either (UNASSIGNED, RESTARTING, paused by
    /// hand, a running connector without tasks), or a route's table or its ingestion
    /// failures could not be read.
    Degraded,
    /// The connector is missing, or it or one of its tasks is FAILED, or a route's table
    /// recorded a permanent ingestion failure since `--since`.
    Failed,
}

/// Everything `status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// [`STATUS_VERSION`].
    pub format_version: u32,
    /// The stack name.
    pub stack: String,
    /// The environment, when one was selected.
    pub environment: Option<String>,
    /// The worst health of any connector ([`Health::Healthy`] when there are none).
    pub health: Health,
    /// One entry per declared sink, by Connect cluster and name.
    pub connectors: Vec<ConnectorReport>,
}

impl StatusReport {
    /// Builds the report; the overall health is the worst connector's.
    pub fn new(
        stack: String,
        environment: Option<String>,
        connectors: Vec<ConnectorReport>,
    ) -> StatusReport {
        let health = connectors
            .iter()
            .map(|c| c.health)
            .max()
            .unwrap_or(Health::Healthy);
        StatusReport {
            format_version: STATUS_VERSION,
            stack,
            environment,
            health,
            connectors,
        }
    }
}

/// One declared sink connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorReport {
    /// The plan address, `connect.CLUSTER.connector.NAME`.
    pub address: crate::plan::Address,
    /// The Connect cluster (as named in the Stack's targets).
    pub cluster: String,
    /// The connector name.
    pub name: String,
    /// The state the manifest declares.
    pub declared_state: RunState,
    /// The connector's live state as Connect spells it; `None` when it does not exist.
    pub state: Option<String>,
    /// The worker running the connector instance.
    pub worker: Option<String>,
    /// The first line(s) of the connector's own failure trace, secrets masked.
    pub error: Option<String>,
    /// Its tasks.
    pub tasks: Vec<TaskReport>,
    /// The consumer group the sink's tasks commit offsets in.
    pub group: String,
    /// One entry per route (topic -> table).
    pub routes: Vec<RouteReport>,
    /// See [`Health`].
    pub health: Health,
}

/// One task of a connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskReport {
    /// Task number.
    pub id: u32,
    /// Its state as Connect spells it.
    pub state: String,
    /// The worker running it.
    pub worker: String,
    /// The first line(s) of its last failure trace, secrets masked.
    pub error: Option<String>,
}

/// One route of a sink and how far its consumer group is behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteReport {
    /// Source topic.
    pub topic: String,
    /// Target database.
    pub database: String,
    /// Target table.
    pub table: String,
    /// The group's lag on the topic.
    pub lag: Lag,
    /// The table's last ingestion time (Kusto datetime text); `None` when it holds no rows or
    /// could not be read.
    pub last_ingestion: Option<String>,
    /// Why the table's last ingestion time could not be read (the table does not exist, no
    /// access), else `None`.
    pub table_error: Option<String>,
    /// Ingestion failures Kusto recorded for the table since the `--since` cutoff.
    pub failures: Failures,
    /// [`route_health`] of this route.
    pub health: Health,
}

/// The ingestion failures of one table since a cutoff (`.show ingestion failures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failures {
    /// The cutoff (Kusto datetime text): failures before it are not counted.
    pub since: String,
    /// Whether the database's failures were read.
    pub available: bool,
    /// Why not, when they were not.
    pub reason: Option<String>,
    /// How many failures since the cutoff.
    pub count: usize,
    /// How many of them are permanent (retrying the same data cannot succeed).
    pub permanent: usize,
    /// The most recent one.
    pub last: Option<IngestionFailure>,
}

/// One row of `.show ingestion failures`, as status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestionFailure {
    /// `FailedOn`.
    pub failed_on: String,
    /// `FailureKind`: `Permanent` or `Transient`.
    pub kind: String,
    /// `ErrorCode`.
    pub error_code: String,
    /// `Details`, secrets masked and cut to a readable length.
    pub details: String,
}

impl IngestionFailure {
    /// Whether retrying the same data cannot succeed: such a failure means rows are lost.
    pub fn is_permanent(&self) -> bool {
        self.kind.eq_ignore_ascii_case("Permanent")
    }

    /// The failure's reason as status prints it: `ErrorCode: Details`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.error_code, self.details)
    }
}

impl Failures {
    /// Failures that could not be read, with the reason.
    pub fn unavailable(since: &str, reason: impl Into<String>) -> Failures {
        Failures {
            since: since.to_string(),
            available: false,
            reason: Some(reason.into()),
            count: 0,
            permanent: 0,
            last: None,
        }
    }

    /// The failures among `rows` (each with its `FailedOn` in ticks) at or after `since_ticks`;
    /// the most recent is kept.
    pub fn since(since: &str, since_ticks: i64, rows: Vec<(i64, IngestionFailure)>) -> Failures {
        let mut recent: Vec<(i64, IngestionFailure)> = rows
            .into_iter()
            .filter(|(at, _)| *at >= since_ticks)
            .collect();
        recent.sort_by_key(|(at, _)| *at);
        Failures {
            since: since.to_string(),
            available: true,
            reason: None,
            count: recent.len(),
            permanent: recent.iter().filter(|(_, f)| f.is_permanent()).count(),
            last: recent.pop().map(|(_, f)| f),
        }
    }
}

/// The health of one route's ingestion: a permanent failure since the cutoff is
/// [`Health::Failed`] (data was refused and will not be retried); a table whose last ingestion
/// time cannot be read (missing, no access) or failures that cannot be read are
/// [`Health::Degraded`]; transient failures alone are retried by Kusto and leave the route
/// [`Health::Healthy`] (they are still counted).
pub fn route_health(failures: &Failures, table_error: Option<&str>) -> Health {
    if failures.permanent > 0 {
        Health::Failed
    } else if table_error.is_some() || !failures.available {
        Health::Degraded
    } else {
        Health::Healthy
    }
}

/// Consumer-group lag on one topic, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    /// Whether offsets were read.
    pub available: bool,
    /// Why not, when they were not (the sandbox has no broker, the topic does not exist, the
    /// broker did not answer).
    pub reason: Option<String>,
    /// The sum over partitions.
    pub total: Option<i64>,
    /// Per partition, in order.
    pub partitions: Vec<PartitionLag>,
}

impl Lag {
    /// Lag that could not be read, with the reason.
    pub fn unavailable(reason: impl Into<String>) -> Lag {
        Lag {
            available: false,
            reason: Some(reason.into()),
            total: None,
            partitions: Vec::new(),
        }
    }

    /// Lag read from the broker.
    pub fn of(partitions: Vec<PartitionLag>) -> Lag {
        Lag {
            available: true,
            reason: None,
            total: Some(partitions.iter().map(|p| p.lag).sum()),
            partitions,
        }
    }
}

/// One partition's offsets and lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// Partition number.
    pub partition: i32,
    /// The group's committed offset; `None` before its first commit ("no committed offset").
    pub committed: Option<i64>,
    /// The earliest offset still in the log.
    pub low_watermark: i64,
    /// The offset the next record will get.
    pub high_watermark: i64,
    /// High watermark minus the committed offset (minus the low watermark without a commit).
    pub lag: i64,
}

/// The health of a connector from its declared state and what Connect reports: missing or
/// FAILED anywhere is [`Health::Failed`]; anything but the declared state is
/// [`Health::Degraded`].
pub fn connector_health(declared: RunState, state: Option<&str>, task_states: &[&str]) -> Health {
    let Some(state) = state else {
        return Health::Failed;
    };
    if state == "FAILED" || task_states.contains(&"FAILED") {
        return Health::Failed;
    }
    let wanted = match declared {
        RunState::Running => "RUNNING",
        RunState::Paused => "PAUSED",
        RunState::Stopped => "STOPPED",
    };
    let tasks_ok = match declared {
        RunState::Stopped => true,
        _ => !task_states.is_empty() && task_states.iter().all(|t| *t == wanted),
    };
    if state == wanted && tasks_ok {
        Health::Healthy
    } else {
        Health::Degraded
    }
}

/// What a status shows of a (masked) Java stack trace: its first line, which names the
/// exception and its message, and the last `Caused by:` line (the root cause) when there is
/// one. Each is cut to a readable length.
pub fn error_summary(trace: &str) -> Option<String> {
    let mut lines = trace.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    let cause = lines.rfind(|l| l.starts_with("Caused by:"));
    let mut out = shorten(first);
    if let Some(cause) = cause {
        out.push('\n');
        out.push_str(&shorten(cause));
    }
    Some(out)
}

/// `line` cut to [`MAX_ERROR_LINE`] characters (failure details can quote whole records).
pub fn shorten(line: &str) -> String {
    match line.char_indices().nth(MAX_ERROR_LINE) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_declared_state() {
        use RunState::*;
        assert_eq!(
            connector_health(Running, Some("RUNNING"), &["RUNNING"]),
            Health::Healthy
        );
        assert_eq!(connector_health(Running, None, &[]), Health::Failed);
        assert_eq!(
            connector_health(Running, Some("RUNNING"), &["RUNNING", "FAILED"]),
            Health::Failed
        );
        assert_eq!(
            connector_health(Running, Some("FAILED"), &[]),
            Health::Failed
        );
        assert_eq!(
            connector_health(Running, Some("RUNNING"), &[]),
            Health::Degraded,
            "a running sink without tasks ingests nothing"
        );
        assert_eq!(
            connector_health(Running, Some("PAUSED"), &["PAUSED"]),
            Health::Degraded
        );
        assert_eq!(
            connector_health(Paused, Some("PAUSED"), &["PAUSED"]),
            Health::Healthy
        );
        assert_eq!(
            connector_health(Stopped, Some("STOPPED"), &[]),
            Health::Healthy
        );
        assert_eq!(
            connector_health(Running, Some("RUNNING"), &["UNASSIGNED"]),
            Health::Degraded
        );
    }

    #[test]
    fn error_summary_keeps_the_first_line_and_the_root_cause() {
        let trace = "org.apache.kafka.connect.errors.ConnectException: boom\n\
                     \tat a.b.C.start(C.java:1)\n\
                     Caused by: java.io.IOException: middle\n\
                     \tat x\n\
                     Caused by: java.net.UnknownHostException: fail.invalid\n\
                     \t... 3 more\n";
        assert_eq!(
            error_summary(trace).as_deref(),
            Some(
                "org.apache.kafka.connect.errors.ConnectException: boom\n\
                 Caused by: java.net.UnknownHostException: fail.invalid"
            )
        );
        assert_eq!(error_summary("  \n"), None);
        let long = "x".repeat(MAX_ERROR_LINE + 10);
        let short = error_summary(&long).expect("line");
        assert_eq!(short.len(), MAX_ERROR_LINE + 3);
    }

    fn failure(kind: &str, code: &str) -> IngestionFailure {
        IngestionFailure {
            failed_on: String::new(),
            kind: kind.into(),
            error_code: code.into(),
            details: "d".into(),
        }
    }

    #[test]
    fn failures_count_since_the_cutoff_and_keep_the_latest() {
        let f = Failures::since(
            "cutoff",
            100,
            vec![
                (150, failure("Transient", "late")),
                (99, failure("Permanent", "before the cutoff")),
                (100, failure("Permanent", "at the cutoff")),
                (120, failure("Transient", "middle")),
            ],
        );
        assert_eq!(f.count, 3);
        assert_eq!(f.permanent, 1);
        assert_eq!(f.last.as_ref().map(|l| l.error_code.as_str()), Some("late"));
        assert_eq!(
            f.last.as_ref().map(IngestionFailure::reason).as_deref(),
            Some("late: d")
        );
        let none = Failures::since("cutoff", 100, vec![(1, failure("Permanent", "old"))]);
        assert_eq!((none.count, none.permanent, none.last), (0, 0, None));
    }

    #[test]
    fn route_health_fails_on_permanent_failures_only() {
        let healthy = Failures::since("c", 0, Vec::new());
        assert_eq!(route_health(&healthy, None), Health::Healthy);
        let transient = Failures::since("c", 0, vec![(1, failure("Transient", "t"))]);
        assert_eq!(
            route_health(&transient, None),
            Health::Healthy,
            "Kusto retries transient failures"
        );
        let permanent = Failures::since("c", 0, vec![(1, failure("Permanent", "p"))]);
        assert_eq!(route_health(&permanent, None), Health::Failed);
        assert_eq!(
            route_health(&permanent, Some("cannot read table")),
            Health::Failed
        );
        assert_eq!(
            route_health(&healthy, Some("cannot read table")),
            Health::Degraded
        );
        assert_eq!(
            route_health(&Failures::unavailable("c", "no access"), None),
            Health::Degraded
        );
    }

    #[test]
    fn overall_health_is_the_worst_connectors() {
        let report = StatusReport::new("s".into(), None, Vec::new());
        assert_eq!(report.health, Health::Healthy);
        assert_eq!(
            Lag::of(vec![
                PartitionLag {
                    partition: 0,
                    committed: Some(1),
                    low_watermark: 0,
                    high_watermark: 3,
                    lag: 2
                },
                PartitionLag {
                    partition: 1,
                    committed: None,
                    low_watermark: 0,
                    high_watermark: 4,
                    lag: 4
                },
            ])
            .total,
            Some(6)
        );
    }
}

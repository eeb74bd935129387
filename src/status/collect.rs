//! Gathers a [`StatusReport`] through the providers: one expanded connector list per Connect
//! cluster (states, tasks, traces with secrets masked by the client), then one offset read
//! per sink's consumer group, one `.show ingestion failures` per Kusto database the routes
//! use and one `T | summarize max(ingestion_time())` query per routed table (all Kusto reads
//! concurrently). A lag, a table or failures that cannot be read do not fail the status: they
//! are reported as unavailable with the reason, next to the states.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::join_all;
use serde_json::Value;

use super::{
    ConnectorReport, Failures, Health, IngestionFailure, Lag, PartitionLag, RouteReport,
    StatusReport, TaskReport, connector_health, error_summary, route_health, shorten,
};
use crate::kusto::datetime::{format_datetime, parse_datetime};
use crate::kusto::render::quote_name;
use crate::kusto::v1::V1Response;
use crate::model::connect::Connector;
use crate::model::sink::routes_in;
use crate::plan::Address;
use crate::providers::connect::{ConnectClient, ExpandedConnector};
use crate::providers::kafka::TopicOffsets;
use crate::workflow::{Session, WorkflowError};

/// `--since` when not given: failures of the last hour count.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(3600);

/// The name the last-ingestion query gives its one column.
const LAST_INGESTION: &str = "LastIngestion";

/// One database's failure rows (each with its `FailedOn` in ticks) by table, or why they could
/// not be read.
type DatabaseFailures = Result<BTreeMap<String, Vec<(i64, IngestionFailure)>>, String>;

/// What Kusto says about the routed tables: failures per database, last ingestion per table.
struct KustoHealth {
    since: String,
    since_ticks: i64,
    failures: BTreeMap<String, DatabaseFailures>,
    last_ingestion: BTreeMap<(String, String), Result<Option<String>, String>>,
}

/// The connector property that overrides the sink's consumer group.
pub const GROUP_OVERRIDE_KEY: &str = "consumer.override.group.id";

/// Why lag is not shown on the built-in sandbox.
pub const SANDBOX_NO_LAG: &str =
    "the built-in Kafka sandbox has no broker, so there are no consumer groups to read";

/// The consumer group of a sink connector: Connect's `connect-<name>`, unless the config
/// overrides it with `consumer.override.group.id`.
pub fn consumer_group(name: &str, config: &BTreeMap<String, String>) -> String {
    config
        .get(GROUP_OVERRIDE_KEY)
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .map_or_else(|| format!("connect-{name}"), str::to_string)
}

/// Reads the status of every declared sink of the session's stack.
/// Failures since `since` before now count.
pub async fn collect(session: &Session, since: Duration) -> Result<StatusReport, WorkflowError> {
    let tables: BTreeSet<(String, String)> = session
        .connectors
        .iter()
        .filter(|(cluster, _)| session.connect.contains_key(*cluster))
        .flat_map(|(_, declared)| declared.values())
        .flat_map(routes_of)
        .map(|(_, db, table)| (db, table))
        .collect();
    let kusto = read_kusto(session, &tables, since).await;
    let mut reports = Vec::new();
    for (cluster, declared) in &session.connectors {
        let Some(client) = session.connect.get(cluster) else {
            continue;
        };
        let live = crate::providers::connect::observe::list(client, cluster).await?;
        for want in declared.values() {
            let found = live.get(&want.name);
            let config = found.map_or(&want.config, |c| c.info.config.expose());
            let group = consumer_group(&want.name, config);
            let routes = routes_of(want);
            let lag = read_lag(session, &group, &routes).await;
            let routes = route_reports(routes, lag, &kusto, client);
            reports.push(connector_report(cluster, want, found, group, routes));
        }
    }
    let stack = session.stack.owner.clone();
    Ok(StatusReport::new(
        stack,
        session.environment.clone(),
        reports,
    ))
}

/// Reads every routed database's ingestion failures and every routed table's last ingestion
/// time, all at once.
async fn read_kusto(
    session: &Session,
    tables: &BTreeSet<(String, String)>,
    since: Duration,
) -> KustoHealth {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let since_ticks = ticks(now.saturating_sub(since));
    let databases: BTreeSet<&String> = tables.iter().map(|(db, _)| db).collect();
    let failures = join_all(databases.into_iter().map(|db| async move {
        let read = session
            .transport
            .mgmt(db, ".show ingestion failures")
            .await
            .map_err(|e| format!("cannot read `.show ingestion failures` in `{db}`: {e}"))
            .and_then(|r| failure_rows(&r));
        (db.clone(), read)
    }))
    .await
    .into_iter()
    .collect();
    let last_ingestion = join_all(tables.iter().map(|(db, table)| async move {
        let query = format!(
            "{} | summarize {LAST_INGESTION} = max(ingestion_time())",
            quote_name(table)
        );
        let read = session
            .transport
            .query(db, &query)
            .await
            .map_err(|e| format!("cannot read table `{db}.{table}`: {e}"))
            .and_then(|r| last_ingestion_of(&r));
        ((db.clone(), table.clone()), read)
    }))
    .await
    .into_iter()
    .collect();
    KustoHealth {
        since: format_datetime(since_ticks),
        since_ticks,
        failures,
        last_ingestion,
    }
}

/// A time since the Unix epoch in Kusto's 100 ns ticks.
fn ticks(since_epoch: Duration) -> i64 {
    i64::try_from(since_epoch.as_nanos() / 100).unwrap_or(i64::MAX)
}

/// The rows of a `.show ingestion failures` answer by table (unmasked: each is masked with
/// the secrets of the connector whose route shows it).
pub(crate) fn failure_rows(response: &V1Response) -> DatabaseFailures {
    let table = response
        .primary()
        .ok_or("`.show ingestion failures` returned no table")?;
    let column = |name: &str| {
        table
            .column_index(name)
            .ok_or_else(|| format!("`.show ingestion failures` has no `{name}` column"))
    };
    let (t, on, kind, code, details) = (
        column("Table")?,
        column("FailedOn")?,
        column("FailureKind")?,
        column("ErrorCode")?,
        column("Details")?,
    );
    let text =
        |row: &[Value], i: usize| row.get(i).and_then(Value::as_str).unwrap_or("").to_string();
    let mut by_table: BTreeMap<String, Vec<(i64, IngestionFailure)>> = BTreeMap::new();
    for row in table.value_rows() {
        let failed_on = text(row, on);
        let at = parse_datetime(&failed_on)
            .ok_or_else(|| format!("`.show ingestion failures` has a FailedOn of `{failed_on}`"))?;
        by_table.entry(text(row, t)).or_default().push((
            at,
            IngestionFailure {
                failed_on,
                kind: text(row, kind),
                error_code: text(row, code),
                details: text(row, details),
            },
        ));
    }
    Ok(by_table)
}

/// The one cell of the last-ingestion query: `None` for a table without rows.
fn last_ingestion_of(response: &V1Response) -> Result<Option<String>, String> {
    let table = response
        .primary()
        .ok_or("the last-ingestion query returned no table")?;
    let column = table
        .column_index(LAST_INGESTION)
        .ok_or("the last-ingestion query returned no `LastIngestion` column")?;
    Ok(table
        .value_rows()
        .next()
        .and_then(|row| row.get(column))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string))
}

/// The report of each route: lag, last ingestion, failures (masked with the Connect client's
/// secrets, as its traces are) and health.
fn route_reports(
    routes: Vec<(String, String, String)>,
    mut lag: BTreeMap<String, Lag>,
    kusto: &KustoHealth,
    client: &ConnectClient,
) -> Vec<RouteReport> {
    routes
        .into_iter()
        .map(|(topic, database, table)| {
            let key = (database.clone(), table.clone());
            let (last_ingestion, table_error) = match kusto.last_ingestion.get(&key) {
                Some(Ok(last)) => (last.clone(), None),
                Some(Err(e)) => (None, Some(client.mask_text(e))),
                None => (None, Some("the table was not read".to_string())),
            };
            let failures = match kusto.failures.get(&database) {
                Some(Ok(by_table)) => Failures::since(
                    &kusto.since,
                    kusto.since_ticks,
                    by_table
                        .get(&table)
                        .into_iter()
                        .flatten()
                        .map(|(at, f)| {
                            let details = client.mask_text(&f.details);
                            let details = shorten(details.lines().next().unwrap_or(""));
                            (
                                *at,
                                IngestionFailure {
                                    details,
                                    ..f.clone()
                                },
                            )
                        })
                        .collect(),
                ),
                Some(Err(e)) => Failures::unavailable(&kusto.since, client.mask_text(e)),
                None => Failures::unavailable(&kusto.since, "the database was not read"),
            };
            let health = route_health(&failures, table_error.as_deref());
            RouteReport {
                lag: lag
                    .remove(&topic)
                    .unwrap_or_else(|| Lag::unavailable("no offsets were returned")),
                topic,
                database,
                table,
                last_ingestion,
                table_error,
                failures,
                health,
            }
        })
        .collect()
}

/// `(topic, database, table)` of each declared route.
fn routes_of(connector: &Connector) -> Vec<(String, String, String)> {
    routes_in(&connector.config)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.topic, r.db, r.table))
        .collect()
}

/// The lag of `group` on each route's topic, or why it is unavailable.
async fn read_lag(
    session: &Session,
    group: &str,
    routes: &[(String, String, String)],
) -> BTreeMap<String, Lag> {
    let topics: Vec<String> = routes.iter().map(|(t, _, _)| t.clone()).collect();
    let unavailable = |reason: &str| {
        topics
            .iter()
            .map(|t| (t.clone(), Lag::unavailable(reason)))
            .collect()
    };
    let Some(reader) = session.kafka.as_ref().and_then(|k| k.lag_reader()) else {
        return unavailable(SANDBOX_NO_LAG);
    };
    match reader.read(group, &topics).await {
        Ok(read) => read
            .into_iter()
            .map(|t| (t.topic.clone(), lag_of(&t)))
            .collect(),
        Err(e) => unavailable(&format!("cannot read consumer group offsets: {e}")),
    }
}

fn lag_of(topic: &TopicOffsets) -> Lag {
    if !topic.exists {
        return Lag::unavailable(format!("topic `{}` does not exist", topic.topic));
    }
    Lag::of(
        topic
            .partitions
            .iter()
            .map(|p| PartitionLag {
                partition: p.partition,
                committed: p.committed,
                low_watermark: p.low_watermark,
                high_watermark: p.high_watermark,
                lag: p.lag(),
            })
            .collect(),
    )
}

fn connector_report(
    cluster: &str,
    want: &Connector,
    found: Option<&ExpandedConnector>,
    group: String,
    routes: Vec<RouteReport>,
) -> ConnectorReport {
    let status = found.map(|c| &c.status);
    let tasks: Vec<TaskReport> = status
        .map(|s| {
            s.tasks
                .iter()
                .map(|t| TaskReport {
                    id: t.id,
                    state: t.state.as_str().to_string(),
                    worker: t.worker_id.clone(),
                    error: t.trace.as_deref().and_then(error_summary),
                })
                .collect()
        })
        .unwrap_or_default();
    let state = status.map(|s| s.connector.state.as_str().to_string());
    let task_states: Vec<&str> = tasks.iter().map(|t| t.state.as_str()).collect();
    let health = routes.iter().map(|r| r.health).fold(
        connector_health(want.state, state.as_deref(), &task_states),
        Health::max,
    );
    ConnectorReport {
        address: Address::connector(cluster, &want.name),
        cluster: cluster.to_string(),
        name: want.name.clone(),
        declared_state: want.state,
        worker: status.map(|s| s.connector.worker_id.clone()),
        error: status
            .and_then(|s| s.connector.trace.as_deref())
            .and_then(error_summary),
        state,
        tasks,
        group,
        routes,
        health,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_is_connect_name_unless_overridden() {
        let mut config = BTreeMap::new();
        assert_eq!(consumer_group("sink", &config), "connect-sink");
        config.insert(GROUP_OVERRIDE_KEY.to_string(), " ingest-group ".to_string());
        assert_eq!(consumer_group("sink", &config), "ingest-group");
        config.insert(GROUP_OVERRIDE_KEY.to_string(), String::new());
        assert_eq!(consumer_group("sink", &config), "connect-sink");
    }

    fn failures_response(rows: &[(&str, &str)]) -> V1Response {
        use crate::kusto::v1::V1Table;
        use crate::model::ColumnType;
        let mut table = V1Table::new(
            "Table_0",
            &[
                ("Table", ColumnType::String),
                ("FailedOn", ColumnType::DateTime),
                ("FailureKind", ColumnType::String),
                ("ErrorCode", ColumnType::String),
                ("Details", ColumnType::String),
            ],
        );
        for (t, on) in rows {
            table.push(vec![
                (*t).into(),
                (*on).into(),
                "Permanent".into(),
                "Code".into(),
                "why".into(),
            ]);
        }
        V1Response::single(table)
    }

    #[test]
    fn failure_rows_are_grouped_by_table_with_their_time() {
        let rows = failure_rows(&failures_response(&[
            ("A", "1970-01-01T00:00:01Z"),
            ("B", "1970-01-01T00:00:02Z"),
            ("A", "1970-01-01T00:00:03Z"),
        ]))
        .expect("rows");
        let a: Vec<i64> = rows["A"].iter().map(|(at, _)| *at).collect();
        assert_eq!(a, [10_000_000, 30_000_000]);
        assert_eq!(rows["B"][0].1.reason(), "Code: why");
        let bad = failure_rows(&failures_response(&[("A", "yesterday")]));
        assert_eq!(
            bad.err().as_deref(),
            Some("`.show ingestion failures` has a FailedOn of `yesterday`")
        );
    }

    #[test]
    fn a_missing_topic_has_no_lag_and_says_why() {
        let lag = lag_of(&TopicOffsets {
            topic: "t".into(),
            partitions: Vec::new(),
            exists: false,
        });
        assert!(!lag.available);
        assert_eq!(lag.reason.as_deref(), Some("topic `t` does not exist"));
    }
}

//! Post-apply canaries (`kustoplan verify`, `kustoplan apply --verify`): for each route, one
//! record shaped by the route's format and mapping is produced to its topic and awaited in
//! the table; for a table without a route, one blob goes through queued ingestion directly.
//! Each check reports the end-to-end latency, or why it failed or could not run, and removes
//! its canary row afterwards, so no canary data remains.
//!
//! - [`canary`]: the record and its marker (pure).
//! - selection (here, pure): which checks a stack or an applied plan calls for, and the wait
//!   the sink's flush interval and the effective batching policy imply.
//! - [`run`]: sends, waits, diagnoses and cleans up through the providers.
//! - [`render`]: the text and JSON reports.

pub mod canary;
pub mod render;
pub mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::model::BatchingPolicy;
use crate::model::connect::ConnectCluster;
use crate::model::kusto::KustoState;
use crate::model::sink::{key, routes_in};
use crate::plan::{Action, Address, Change};

/// The Kusto sink's `flush.interval.ms` when a connector does not set it.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// How a canary reaches its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Path {
    /// Produced to the route's topic, carried by its sink connector.
    Route {
        /// Connect cluster name in `targets.connect`.
        cluster: String,
        /// Connector name.
        connector: String,
        /// Topic.
        topic: String,
        /// Data format (`json`, `csv`, ...).
        format: String,
        /// Ingestion mapping name, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        mapping: Option<String>,
        /// Streaming ingestion (no batching wait).
        streaming: bool,
        /// The connector's `flush.interval.ms`.
        #[serde(serialize_with = "seconds")]
        flush_interval: Duration,
    },
    /// A blob through queued ingestion (a table no route writes to).
    QueuedIngestion,
}

/// One verification to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Database.
    pub database: String,
    /// Table.
    pub table: String,
    /// How the canary travels.
    #[serde(flatten)]
    pub path: Path,
    /// The longest wait the flush interval and the effective batching policy imply.
    #[serde(serialize_with = "seconds")]
    pub expected_wait: Duration,
}

impl Check {
    /// A short name for progress lines and reports.
    pub fn label(&self) -> String {
        match &self.path {
            Path::Route {
                topic, connector, ..
            } => format!(
                "{}.{} via topic {topic} (connector {connector})",
                self.database, self.table
            ),
            Path::QueuedIngestion => {
                format!("{}.{} via queued ingestion", self.database, self.table)
            }
        }
    }

    /// How `expected_wait` is made up, for progress lines.
    pub fn wait_basis(&self) -> String {
        match &self.path {
            Path::Route {
                streaming: true,
                flush_interval,
                ..
            } => format!("flush {}s, streaming", flush_interval.as_secs()),
            Path::Route { flush_interval, .. } => format!(
                "flush {}s + batching {}s",
                flush_interval.as_secs(),
                self.expected_wait.saturating_sub(*flush_interval).as_secs()
            ),
            Path::QueuedIngestion => {
                format!("batching {}s", self.expected_wait.as_secs())
            }
        }
    }
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What to verify: everything declared, or only what an applied plan created or changed.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every declared route, and every declared table no route writes to.
    All,
    /// The routes whose connector, topic or table the changes created or changed, and the
    /// changed tables no route writes to.
    Changed(&'a [Change]),
}

/// The checks `scope` calls for, routes first, in a stable order.
pub fn checks(
    desired: &KustoState,
    connectors: &BTreeMap<String, ConnectCluster>,
    scope: Scope<'_>,
) -> Vec<Check> {
    let touched = |address: &Address| match scope {
        Scope::All => true,
        Scope::Changed(changes) => changes.iter().any(|c| {
            (c.address == *address && c.action != Action::Delete) || c.address.is_under(address)
        }),
    };
    let mut out = Vec::new();
    let mut routed = BTreeSet::new();
    for (cluster, declared) in connectors {
        for connector in declared.values() {
            let flush_interval = connector
                .config
                .get(key::FLUSH_INTERVAL_MS)
                .and_then(|ms| ms.trim().parse().ok())
                .map_or(DEFAULT_FLUSH_INTERVAL, Duration::from_millis);
            let connector_touched = touched(&Address::connector(cluster, &connector.name));
            for route in routes_in(&connector.config).unwrap_or_default() {
                routed.insert((route.db.clone(), route.table.clone()));
                let table_address = Address::kusto_table(&route.db, &route.table);
                if !(connector_touched
                    || touched(&table_address)
                    || touched(&Address::kafka_topic(&route.topic)))
                {
                    continue;
                }
                let batching = if route.streaming {
                    Duration::ZERO
                } else {
                    batching_time(desired, &route.db, &route.table)
                };
                out.push(Check {
                    database: route.db.clone(),
                    table: route.table.clone(),
                    expected_wait: flush_interval + batching,
                    path: Path::Route {
                        cluster: cluster.clone(),
                        connector: connector.name.clone(),
                        topic: route.topic,
                        format: route.format,
                        mapping: route.mapping,
                        streaming: route.streaming,
                        flush_interval,
                    },
                });
            }
        }
    }
    for (db, database) in &desired.databases {
        for table in database.tables.keys() {
            if routed.contains(&(db.clone(), table.clone()))
                || !touched(&Address::kusto_table(db, table))
            {
                continue;
            }
            out.push(Check {
                database: db.clone(),
                table: table.clone(),
                expected_wait: batching_time(desired, db, table),
                path: Path::QueuedIngestion,
            });
        }
    }
    out
}

/// `MaximumBatchingTimeSpan` of the effective batching policy: the table's, else the
/// database's, else the service default.
fn batching_time(desired: &KustoState, db: &str, table: &str) -> Duration {
    let database = desired.databases.get(db);
    let policy = database
        .and_then(|d| d.tables.get(table))
        .and_then(|t| t.batching)
        .or_else(|| database.and_then(|d| d.batching))
        .unwrap_or(BatchingPolicy::DEFAULTS);
    Duration::from_millis(policy.max_time.as_millis())
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The canary row became queryable.
    Verified {
        /// From sending the canary to the first query that returned its row.
        #[serde(rename = "latency_seconds", serialize_with = "seconds")]
        latency: Duration,
    },
    /// The canary was sent but did not arrive (or could not be sent).
    Failed {
        /// Why, with what Kusto and Connect said.
        reason: String,
    },
    /// The check could not run here (a format without canaries, the built-in sandbox).
    NotVerified {
        /// Why.
        reason: String,
    },
}

/// What happened to the canary row afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cleanup", rename_all = "snake_case")]
pub enum Cleanup {
    /// The canary row was removed and a query confirmed none remains.
    Removed {
        /// The command that removed it.
        #[serde(rename = "cleanup_command")]
        command: String,
    },
    /// Nothing reached the table, so nothing was removed.
    NothingSent,
    /// A canary may remain: the reason and the command that removes it.
    Left {
        /// Why.
        #[serde(rename = "cleanup_reason")]
        reason: String,
        /// Run this to remove it.
        #[serde(rename = "cleanup_command")]
        command: String,
    },
}

/// One check's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// What was checked.
    #[serde(flatten)]
    pub check: Check,
    /// The marker column and value, when a canary was built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The cleanup.
    #[serde(flatten)]
    pub cleanup: Cleanup,
}

/// The whole verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// One report per check, in check order.
    pub checks: Vec<CheckReport>,
}

impl VerifyReport {
    /// Whether any check failed (or left a canary behind).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| {
            matches!(c.outcome, Outcome::Failed { .. }) || matches!(c.cleanup, Cleanup::Left { .. })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timespan;
    use crate::model::connect::{Connector, RunState};
    use crate::model::kusto::{DatabaseState, TableState};
    use crate::plan::{ImpactClass, Target};

    fn desired() -> KustoState {
        let table = |name: &str, batching: Option<u64>| TableState {
            name: name.into(),
            batching: batching.map(|secs| BatchingPolicy {
                max_time: Timespan::from_secs(secs),
                ..BatchingPolicy::DEFAULTS
            }),
            ..TableState::default()
        };
        KustoState {
            databases: BTreeMap::from([(
                "db".to_string(),
                DatabaseState {
                    name: "db".into(),
                    tables: BTreeMap::from([
                        ("Routed".to_string(), table("Routed", Some(10))),
                        ("Lonely".to_string(), table("Lonely", None)),
                    ]),
                    ..DatabaseState::default()
                },
            )]),
        }
    }

    fn connectors() -> BTreeMap<String, ConnectCluster> {
        let config = BTreeMap::from([
            (
                key::ROUTES.to_string(),
                r#"[{"topic":"t1","db":"db","table":"Routed","format":"json","mapping":"m","streaming":false}]"#
                    .to_string(),
            ),
            (key::FLUSH_INTERVAL_MS.to_string(), "2000".to_string()),
        ]);
        BTreeMap::from([(
            "main".to_string(),
            BTreeMap::from([(
                "sink".to_string(),
                Connector {
                    name: "sink".into(),
                    config,
                    state: RunState::Running,
                    renamed_from: None,
                },
            )]),
        )])
    }

    fn change(address: &str, action: Action) -> Change {
        Change {
            address: address.parse().expect("address"),
            action,
            impact: ImpactClass::Safe,
            summary: String::new(),
            before: None,
            after: None,
            before_state: None,
            after_state: None,
            target: Target::Kafka,
            kusto_commands: Vec::new(),
            operations: Vec::new(),
            phase: crate::plan::Phase::Topics,
            previous_address: None,
        }
    }

    fn tables(checks: &[Check]) -> Vec<(String, bool)> {
        checks
            .iter()
            .map(|c| (c.table.clone(), matches!(c.path, Path::Route { .. })))
            .collect()
    }

    fn expect(want: &[(&str, bool)]) -> Vec<(String, bool)> {
        want.iter().map(|(t, r)| (t.to_string(), *r)).collect()
    }

    #[test]
    fn every_route_and_every_table_without_one_by_default() {
        let all = checks(&desired(), &connectors(), Scope::All);
        assert_eq!(tables(&all), expect(&[("Routed", true), ("Lonely", false)]));
        assert_eq!(
            all[0].expected_wait,
            Duration::from_secs(12),
            "flush 2s + the table's batching 10s"
        );
        assert_eq!(all[0].wait_basis(), "flush 2s + batching 10s");
        assert_eq!(
            all[1].expected_wait,
            Duration::from_secs(300),
            "no policy: the service default"
        );
    }

    #[test]
    fn after_apply_only_what_the_plan_created_or_changed() {
        let (d, c) = (desired(), connectors());
        let only = |changes: &[Change]| tables(&checks(&d, &c, Scope::Changed(changes)));
        assert!(only(&[]).is_empty());
        assert_eq!(
            only(&[change("connect.main.connector.sink", Action::Update)]),
            expect(&[("Routed", true)])
        );
        assert_eq!(
            only(&[change("kusto.db.table.Routed.mapping.m", Action::Delete)]),
            expect(&[("Routed", true)]),
            "a sub-object of the table changed: its route is verified"
        );
        assert_eq!(
            only(&[change("kafka.topic.t1", Action::Create)]),
            expect(&[("Routed", true)])
        );
        assert_eq!(
            only(&[change("kusto.db.table.Lonely", Action::Create)]),
            expect(&[("Lonely", false)])
        );
        assert!(
            only(&[change("kusto.db.table.Lonely", Action::Delete)]).is_empty(),
            "a dropped table is not verified"
        );
        assert!(only(&[change("kusto.db.table.Lonelier", Action::Create)]).is_empty());
    }
}

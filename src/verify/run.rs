//! Runs checks through the providers: sends each canary (a record to the route's topic, or a
//! blob through queued ingestion), polls `T | where Marker == value | count` until the row is
//! there or the deadline passes, watches the connector for failed tasks meanwhile, and removes
//! the canary: `.drop extents` by its `drop-by:` tag for queued ingestion (the rows carry it),
//! `.delete table T records <| T | where Marker == value` for a route (the sink cannot tag a
//! record's rows). All checks run concurrently.

use std::time::{Duration, Instant};

use futures::future::join_all;

use super::canary::{self, Canary, Encoding, MARKER_PREFIX};
use super::{Check, CheckReport, Cleanup, Outcome, Path, VerifyReport};
use crate::kusto::render::drop_extents_tagged;
use crate::model::connect::RunState;
use crate::model::kusto::TableState;
use crate::providers::connect::types::State;
use crate::providers::kafka::KafkaError;
use crate::providers::kusto::queued::{QueuedBlob, ingest};
use crate::providers::wait::{Wait, WaitOutcome};
use crate::workflow::Session;

/// How often the table is queried for the canary.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often the connector's tasks are read while waiting (the progress line of the wait is
/// drawn by whoever observes [`crate::providers::wait`]).
const TASKS_EVERY: Duration = Duration::from_secs(10);
/// Added to the implied wait for the default deadline: the sink's and Kusto's own work.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(60);

/// When to give up on a canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The check's implied wait plus [`DEFAULT_MARGIN`].
    Implied,
    /// This long after the canary is sent, whatever the policy implies.
    After(Duration),
}

impl Deadline {
    fn for_check(self, check: &Check) -> Duration {
        match self {
            Deadline::Implied => check.expected_wait + DEFAULT_MARGIN,
            Deadline::After(d) => d,
        }
    }
}

/// Runs `checks` concurrently; `progress` gets one line at a time (stderr in the CLI).
pub async fn run(
    session: &Session,
    checks: Vec<Check>,
    deadline: Deadline,
    progress: &(dyn Fn(&str) + Sync),
) -> VerifyReport {
    let reports = join_all(
        checks
            .into_iter()
            .map(|check| run_one(session, check, deadline, progress)),
    )
    .await;
    VerifyReport { checks: reports }
}

/// What the check's canary is and how it is sent.
fn build(session: &Session, check: &Check) -> Result<Canary, String> {
    let table = declared_table(session, check)
        .ok_or_else(|| format!("table {}.{} is not declared", check.database, check.table))?;
    let seed = uuid::Uuid::new_v4();
    match &check.path {
        Path::Route {
            format, mapping, ..
        } => {
            let encoding = Encoding::of_format(format)?;
            let declared = match mapping {
                Some(name) => Some(
                    table
                        .mappings
                        .values()
                        .find(|m| &m.name == name)
                        .ok_or_else(|| {
                            format!("mapping `{name}` is not declared on table {}", check.table)
                        })?,
                ),
                None => None,
            };
            canary::build(table, encoding, declared, seed)
        }
        Path::QueuedIngestion => canary::build(table, Encoding::Json, None, seed),
    }
}

/// The declared run state of the route's connector when it is not `RUNNING`.
fn declared_idle(session: &Session, check: &Check) -> Option<&'static str> {
    let Path::Route {
        cluster, connector, ..
    } = &check.path
    else {
        return None;
    };
    match session.connectors.get(cluster)?.get(connector)?.state {
        RunState::Running => None,
        RunState::Paused => Some("PAUSED"),
        RunState::Stopped => Some("STOPPED"),
    }
}

/// The tables an ingestion into `check`'s table also writes to through the declared, enabled
/// update policies of its database, directly or down a chain, in name order. A canary there
/// would be copied into them, where verify can neither find it by its marker (the policy's
/// query may drop that column) nor by its `drop-by:` tag (kept only by policies that propagate
/// ingestion properties), so such a table is not sent a canary.
fn fed_tables(session: &Session, check: &Check) -> Vec<String> {
    let Some(database) = session.desired.databases.get(&check.database) else {
        return Vec::new();
    };
    let mut fed = std::collections::BTreeSet::new();
    let mut sources = vec![check.table.clone()];
    while let Some(source) = sources.pop() {
        for (name, table) in &database.tables {
            let feeds = table
                .update_policies
                .iter()
                .flatten()
                .any(|p| p.enabled && p.source == source);
            if feeds && *name != check.table && fed.insert(name.clone()) {
                sources.push(name.clone());
            }
        }
    }
    fed.into_iter().collect()
}

fn declared_table<'s>(session: &'s Session, check: &Check) -> Option<&'s TableState> {
    session
        .desired
        .databases
        .get(&check.database)
        .and_then(|d| d.tables.get(&check.table))
}

async fn run_one(
    session: &Session,
    check: Check,
    deadline: Deadline,
    progress: &(dyn Fn(&str) + Sync),
) -> CheckReport {
    let not_verified = |check: Check, reason: String| CheckReport {
        check,
        marker: None,
        outcome: Outcome::NotVerified { reason },
        cleanup: Cleanup::NothingSent,
    };
    if let Some(state) = declared_idle(session, &check) {
        return not_verified(
            check,
            format!("the connector is declared {state}: its tasks consume nothing"),
        );
    }
    let fed = fed_tables(session, &check);
    if !fed.is_empty() {
        let list = fed
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return not_verified(
            check,
            format!(
                "update policies copy what this table ingests into {list}, where a canary could \
                 not be removed; no canary was sent (query those tables after real traffic)"
            ),
        );
    }
    let canary = match build(session, &check) {
        Ok(built) => built,
        Err(reason) => return not_verified(check, reason),
    };
    let marker = format!("{} == {}", canary.marker.column, canary.marker.literal);
    let tag = format!("drop-by:{MARKER_PREFIX}-{}", uuid::Uuid::new_v4());
    let started = Instant::now();
    let sent = match &check.path {
        Path::Route { topic, .. } => {
            let Some(kafka) = &session.kafka else {
                return not_verified(check, "the stack has no Kafka target".to_string());
            };
            let key =
                serde_json::Value::String(format!("{MARKER_PREFIX}-{}", uuid::Uuid::new_v4()))
                    .to_string();
            kafka
                .produce(topic, &key, &canary.record)
                .await
                .map_err(|e| match e {
                    KafkaError::NotAvailable(reason) => (true, reason),
                    other => (false, format!("producing the canary failed: {other}")),
                })
        }
        Path::QueuedIngestion => {
            if session.transport.in_process() {
                return not_verified(
                    check,
                    "the built-in sandbox in this process has no queued ingestion; serve it with \
                     `kustoplan sandbox serve --ingest` and point the stack's cluster at it"
                        .to_string(),
                );
            }
            let tags = [tag.clone()];
            let mut data = canary.record.clone().into_bytes();
            data.push(b'\n');
            ingest(
                &session.transport,
                &QueuedBlob {
                    database: &check.database,
                    table: &check.table,
                    format: "json",
                    mapping: None,
                    tags: &tags,
                    data: &data,
                },
            )
            .await
            .map(|_| ())
            .map_err(|e| (false, format!("queued ingestion of the canary failed: {e}")))
        }
    };
    if let Err((sandbox, reason)) = sent {
        let outcome = if sandbox {
            Outcome::NotVerified { reason }
        } else {
            Outcome::Failed { reason }
        };
        return CheckReport {
            check,
            marker: Some(marker),
            outcome,
            cleanup: Cleanup::NothingSent,
        };
    }
    let limit = deadline.for_check(&check);
    let outcome = wait(session, &check, &canary, started, limit, progress).await;
    let cleanup = match (cleanup(session, &check, &canary, &tag).await, &outcome) {
        (Cleanup::Removed { command }, Outcome::Failed { .. }) => Cleanup::Left {
            reason: "the canary had not arrived when verification gave up; should it arrive \
                     later, this command removes it"
                .to_string(),
            command,
        },
        (cleanup, _) => cleanup,
    };
    CheckReport {
        check,
        marker: Some(marker),
        outcome,
        cleanup,
    }
}

/// Polls until the canary row is queryable, a connector task fails, or `limit` passes.
async fn wait(
    session: &Session,
    check: &Check,
    canary: &Canary,
    started: Instant,
    limit: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Outcome {
    let label = check.label();
    let query = canary.marker.count_query(&check.table);
    let mut next_tasks = started + TASKS_EVERY;
    let waiting = Wait::start(format!(
        "verify: {label}: waiting for the canary (up to {}s expected ({}), giving up at {}s)",
        check.expected_wait.as_secs(),
        check.wait_basis(),
        limit.as_secs()
    ));
    loop {
        let last_error = match session.transport.query(&check.database, &query).await {
            Ok(response) => {
                let count = response
                    .primary()
                    .and_then(|t| t.value_rows().next().and_then(|r| r.first()).cloned())
                    .and_then(|v| v.as_i64());
                if count.is_some_and(|n| n > 0) {
                    let latency = started.elapsed();
                    waiting.end(WaitOutcome::Done);
                    progress(&format!(
                        "verify: {label}: canary queryable after {:.1}s",
                        latency.as_secs_f64()
                    ));
                    return Outcome::Verified { latency };
                }
                None
            }
            Err(e) => Some(e.message),
        };
        let elapsed = started.elapsed();
        if Instant::now() >= next_tasks {
            next_tasks += TASKS_EVERY;
            if let Some(failed) = failed_task(session, check).await {
                waiting.end(WaitOutcome::Failed("a connector task failed".to_string()));
                return Outcome::Failed { reason: failed };
            }
        }
        if elapsed >= limit {
            let mut reason = format!(
                "the canary was not queryable after {}s (the flush interval and batching policy imply up to {}s)",
                limit.as_secs(),
                check.expected_wait.as_secs()
            );
            if let Some(e) = last_error {
                reason.push_str(&format!("; the last query failed: {e}"));
            }
            if let Some(failed) = failed_task(session, check).await {
                reason.push_str(&format!("; {failed}"));
            }
            if let Some(failure) = ingestion_failure(session, check).await {
                reason.push_str(&format!("; Kusto recorded an ingestion failure: {failure}"));
            }
            waiting.end(WaitOutcome::Failed("not queryable in time".to_string()));
            return Outcome::Failed { reason };
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The first failed task (or failed connector) of the route's connector, summarised.
async fn failed_task(session: &Session, check: &Check) -> Option<String> {
    let Path::Route {
        cluster, connector, ..
    } = &check.path
    else {
        return None;
    };
    let client = session.connect.get(cluster)?;
    let status = client.status(connector).await.ok()?;
    let summary = |trace: Option<&String>| {
        trace
            .and_then(|t| crate::status::error_summary(t))
            .unwrap_or_else(|| "no trace".to_string())
    };
    if status.connector.state == State::Failed {
        return Some(format!(
            "connector {connector} FAILED: {}",
            summary(status.connector.trace.as_ref())
        ));
    }
    status.failed_tasks().next().map(|task| {
        format!(
            "connector {connector} task {} FAILED: {}",
            task.id,
            summary(task.trace.as_ref())
        )
    })
}

/// The latest ingestion failure Kusto recorded for the table, if any.
async fn ingestion_failure(session: &Session, check: &Check) -> Option<String> {
    let response = session
        .transport
        .mgmt(&check.database, ".show ingestion failures")
        .await
        .ok()?;
    let by_table = crate::status::collect::failure_rows(&response).ok()?;
    by_table
        .get(&check.table)?
        .iter()
        .max_by_key(|(at, _)| *at)
        .map(|(_, f)| f.reason())
}

/// Removes the canary row and confirms none remains. Runs after a failure too: a canary
/// that arrives late would otherwise stay.
async fn cleanup(session: &Session, check: &Check, canary: &Canary, tag: &str) -> Cleanup {
    let command = match check.path {
        Path::QueuedIngestion => drop_extents_tagged(&check.table, tag),
        Path::Route { .. } => canary.marker.delete_command(&check.table),
    };
    if let Err(e) = session.transport.mgmt(&check.database, &command).await {
        return Cleanup::Left {
            reason: format!("removing the canary failed: {e}"),
            command,
        };
    }
    let query = canary.marker.count_query(&check.table);
    let remaining = session
        .transport
        .query(&check.database, &query)
        .await
        .ok()
        .and_then(|r| {
            r.primary()
                .and_then(|t| t.value_rows().next().and_then(|r| r.first()).cloned())
        })
        .and_then(|v| v.as_i64());
    match remaining {
        Some(0) => Cleanup::Removed { command },
        Some(n) => Cleanup::Left {
            reason: format!("{n} canary rows remain after the removal"),
            command,
        },
        None => Cleanup::Left {
            reason: "could not confirm that no canary row remains".to_string(),
            command,
        },
    }
}

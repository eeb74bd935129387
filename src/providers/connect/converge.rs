//! Carrying out planned connector operations: validate every new or changed config first
//! (nothing is written when any is invalid), then create/update, reach the declared run state,
//! and wait until the connector and its tasks are there, reporting failed tasks with their
//! (masked) traces.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::observe::{ListError, list};
use super::types::State;
use super::{ConnectClient, ConnectClientError};
use crate::interrupt::StopRequest;
use crate::model::connect::{ConnectCluster, RunState};
use crate::model::sink::KUSTO_SINK_CLASS;
use crate::plan::Operation;
use crate::plan::connect::describe;
use crate::providers::report::{ApplyReport, CommandOutcome, StateCheck};

/// One invalid config key, as Connect's validate endpoint reported it (values masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Connector name.
    pub connector: String,
    /// Config key.
    pub key: String,
    /// Connect's message.
    pub message: String,
}

/// Validates every config the operations would write. Returns each reported error.
pub async fn validate(
    client: &ConnectClient,
    operations: &[Operation],
) -> Result<Vec<Invalid>, ConnectClientError> {
    let mut out = Vec::new();
    for op in operations {
        if let Operation::PutConnectorConfig { name, config }
        | Operation::CreateConnector { name, config, .. } = op
        {
            let mut with_name = config.clone();
            with_name.insert("name".to_string(), name.clone());
            let report = client.validate(KUSTO_SINK_CLASS, &with_name).await?;
            for (key, errors) in report.errors() {
                for message in errors {
                    out.push(Invalid {
                        connector: name.clone(),
                        key: key.to_string(),
                        message: client.mask_text(message),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// How long a connector whose offsets are copied may take to stop (its tasks commit their last
/// offsets while shutting down).
const STOP_WAIT: Duration = Duration::from_secs(60);

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// A request failed.
    Request(ConnectClientError),
    /// The connector whose offsets were to be copied did not stop, so its offsets were not
    /// final; nothing was written to the other connector.
    NotStopped(NotConverged),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Request(e) => write!(f, "{e}"),
            StepError::NotStopped(nc) => write!(
                f,
                "connector {} did not stop within {}s ({}); its offsets were not copied",
                nc.connector,
                STOP_WAIT.as_secs(),
                nc.detail
            ),
        }
    }
}

impl From<ConnectClientError> for StepError {
    fn from(e: ConnectClientError) -> Self {
        StepError::Request(e)
    }
}

/// Sends one operation.
pub async fn execute(client: &ConnectClient, op: &Operation) -> Result<(), StepError> {
    match op {
        Operation::PutConnectorConfig { name, config } => {
            client.put_config(name, config).await.map(drop)?
        }
        Operation::CreateConnector {
            name,
            config,
            initial_state,
        } => client
            .create(name, config, *initial_state)
            .await
            .map(drop)?,
        Operation::PauseConnector { name } => client.pause(name).await?,
        Operation::ResumeConnector { name } => client.resume(name).await?,
        Operation::StopConnector { name } => client.stop(name).await?,
        Operation::DeleteConnector { name } => client.delete(name).await?,
        Operation::CopyConnectorOffsets { from, to } => copy_offsets(client, from, to).await?,
        Operation::CreateTopic { .. }
        | Operation::CreatePartitions { .. }
        | Operation::AlterTopicConfigs { .. } => {}
    }
    Ok(())
}

/// Waits until `from` is stopped, then writes its committed offsets to `to` (which must be
/// stopped too; Connect refuses otherwise). A connector that never committed anything has
/// nothing to carry over, and `PATCH` with no offsets is an error on Connect, so nothing is
/// written then.
async fn copy_offsets(client: &ConnectClient, from: &str, to: &str) -> Result<(), StepError> {
    let stopped = BTreeMap::from([(from.to_string(), State::Stopped)]);
    if let Some(nc) = wait_for(client, &stopped, STOP_WAIT)
        .await
        .into_iter()
        .next()
    {
        return Err(StepError::NotStopped(nc));
    }
    let offsets = client.offsets(from).await?;
    if !offsets.offsets.is_empty() {
        client.alter_offsets(to, &offsets).await?;
    }
    Ok(())
}

/// Why a connector did not reach its declared state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotConverged {
    /// Connector name.
    pub connector: String,
    /// What was seen last, with failed tasks' traces (masked, first lines).
    pub detail: String,
}

/// Waits until each connector (name -> declared state) and all its tasks are in the declared
/// state; `RUNNING` also needs every task `RUNNING`, `STOPPED` needs no tasks. A failed
/// connector or task ends the wait for that connector at once.
pub async fn wait_for(
    client: &ConnectClient,
    wanted: &BTreeMap<String, State>,
    timeout: Duration,
) -> Vec<NotConverged> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<(&String, &State)> = wanted.iter().collect();
    let mut out = Vec::new();
    let mut last: BTreeMap<&String, String> = BTreeMap::new();
    while !pending.is_empty() {
        let mut next = Vec::new();
        for (name, want) in pending {
            match client.status(name).await {
                Ok(status) => {
                    let tasks_ok = match want {
                        State::Stopped => status.tasks.is_empty(),
                        other => {
                            !status.tasks.is_empty()
                                && status.tasks.iter().all(|t| t.state == *other)
                        }
                    };
                    if status.connector.state == *want && tasks_ok {
                        continue;
                    }
                    let failed: Vec<String> = status
                        .tasks
                        .iter()
                        .filter(|t| t.state == State::Failed)
                        .map(|t| {
                            let trace = t
                                .trace
                                .as_deref()
                                .map(|tr| client.mask_text(tr))
                                .unwrap_or_default();
                            format!(
                                "task {} FAILED: {}",
                                t.id,
                                trace.lines().take(3).collect::<Vec<_>>().join(" | ")
                            )
                        })
                        .collect();
                    let seen = format!("connector is {}", status.connector.state.as_str());
                    if status.connector.state == State::Failed || !failed.is_empty() {
                        let detail = if failed.is_empty() {
                            seen
                        } else {
                            format!("{seen}; {}", failed.join("; "))
                        };
                        out.push(NotConverged {
                            connector: name.clone(),
                            detail,
                        });
                        continue;
                    }
                    last.insert(name, seen);
                }
                Err(e) => {
                    last.insert(name, e.to_string());
                }
            }
            next.push((name, want));
        }
        pending = next;
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            out.extend(pending.iter().map(|(name, want)| NotConverged {
                connector: (*name).clone(),
                detail: format!(
                    "not {} after {}s ({})",
                    want.as_str(),
                    timeout.as_secs(),
                    last.get(name).map_or("no status", String::as_str)
                ),
            }));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    out
}

/// How many connector requests apply keeps in flight unless told otherwise
/// (`--connect-parallelism`): Terraform's default parallelism. A Connect worker answers REST
/// calls from a thread pool and forwards writes to the group's leader, which appends them to
/// the config topic one by one; ten in flight hide the round trips of a thousand routes
/// without piling up rebalances (whose 409 answers the client retries).
pub const DEFAULT_PARALLELISM: usize = 10;

/// How long apply waits for connectors and tasks to reach their declared state.
const CONNECTOR_WAIT: Duration = Duration::from_secs(60);

/// Carries out one cluster's planned operations in order, adding each outcome to `report`:
/// stops at the first failure, or before the next request once `stop` is requested. Then, unless
/// interrupted, waits until every connector it touched reaches the state `declared` gives it.
/// `ops` are (change address, operation) in plan order.
pub async fn apply_cluster(
    client: &ConnectClient,
    cluster: &str,
    ops: Vec<(String, Operation)>,
    declared: Option<&ConnectCluster>,
    stop: &StopRequest,
    progress: &mut impl FnMut(String),
    report: &mut ApplyReport,
) {
    let mut wanted = BTreeMap::new();
    let mut failed = false;
    for (address, op) in ops {
        let text = describe(&op);
        if !failed && stop.is_requested() {
            failed = true;
            report.interrupted = true;
        }
        if failed {
            report
                .commands
                .push((address, text, CommandOutcome::NotRun));
            continue;
        }
        progress(text.clone());
        report.requests += 1;
        match execute(client, &op).await {
            Ok(()) => {
                track_wanted_state(&mut wanted, &op, declared);
                report
                    .commands
                    .push((address, text, CommandOutcome::Completed));
            }
            Err(e) => {
                failed = true;
                report
                    .commands
                    .push((address, text, CommandOutcome::Failed(e.to_string())));
            }
        }
    }
    if !wanted.is_empty() && !report.interrupted {
        progress(format!(
            "Waiting for {} connector(s) on `{cluster}` to reach their declared state...",
            wanted.len()
        ));
        let missed = wait_for(client, &wanted, CONNECTOR_WAIT).await;
        report
            .verifications
            .extend(state_checks(cluster, &wanted, missed));
    }
}

/// Updates which state each connector should end in after `op` succeeded.
fn track_wanted_state(
    wanted: &mut BTreeMap<String, State>,
    op: &Operation,
    declared: Option<&ConnectCluster>,
) {
    match op {
        Operation::PutConnectorConfig { name, .. } => {
            let state = declared
                .and_then(|c| c.get(name))
                .map_or(State::Running, |c| wire_state(c.state));
            wanted.insert(name.clone(), state);
        }
        Operation::CreateConnector {
            name,
            initial_state,
            ..
        } => {
            wanted.insert(name.clone(), wire_state(*initial_state));
        }
        Operation::PauseConnector { name } => {
            wanted.insert(name.clone(), State::Paused);
        }
        Operation::ResumeConnector { name } => {
            wanted.insert(name.clone(), State::Running);
        }
        Operation::StopConnector { name } => {
            wanted.insert(name.clone(), State::Stopped);
        }
        Operation::DeleteConnector { name } => {
            wanted.remove(name);
        }
        Operation::CopyConnectorOffsets { .. }
        | Operation::CreateTopic { .. }
        | Operation::CreatePartitions { .. }
        | Operation::AlterTopicConfigs { .. } => {}
    }
}

/// Restarts the failed connectors and tasks of `cluster` that `declared` lists (one list
/// request finds them), then waits until they reach their declared state.
pub async fn restart_failed(
    client: &ConnectClient,
    cluster: &str,
    declared: Option<&ConnectCluster>,
    progress: &mut impl FnMut(String),
    report: &mut ApplyReport,
) -> Result<(), ListError> {
    let listed = list(client, cluster).await?;
    let mut wanted = BTreeMap::new();
    for (name, c) in listed {
        let Some(want) = declared.and_then(|d| d.get(&name)) else {
            continue;
        };
        if !c.has_failed() {
            continue;
        }
        let address = format!("connect.{cluster}.connector.{name}");
        let text = format!("POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true");
        progress(text.clone());
        report.requests += 1;
        match client.restart(&name, true, true).await {
            Ok(_) => {
                wanted.insert(name.clone(), wire_state(want.state));
                report
                    .commands
                    .push((address, text, CommandOutcome::Completed));
            }
            Err(e) => report
                .commands
                .push((address, text, CommandOutcome::Failed(e.to_string()))),
        }
    }
    let missed = wait_for(client, &wanted, CONNECTOR_WAIT).await;
    report
        .verifications
        .extend(state_checks(cluster, &wanted, missed));
    Ok(())
}

/// One check per connector of `wanted` on `cluster`: reached, or the detail of its entry in
/// `missed` (what [`wait_for`] saw last).
fn state_checks(
    cluster: &str,
    wanted: &BTreeMap<String, State>,
    missed: Vec<NotConverged>,
) -> Vec<StateCheck> {
    let mut missed: BTreeMap<String, String> = missed
        .into_iter()
        .map(|nc| (nc.connector, nc.detail))
        .collect();
    wanted
        .keys()
        .map(|name| StateCheck {
            address: format!("connect.{cluster}.connector.{name}"),
            reached: missed.remove(name).map_or(Ok(()), Err),
        })
        .collect()
}

fn wire_state(s: RunState) -> State {
    match s {
        RunState::Running => State::Running,
        RunState::Paused => State::Paused,
        RunState::Stopped => State::Stopped,
    }
}

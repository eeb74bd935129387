//! Carrying out planned connector operations: validate every new or changed config first
//! (nothing is written when any is invalid), then create/update, reach the declared run state,
//! and wait until the connector and its tasks are there, reporting failed tasks with their
//! (masked) traces.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::types::State;
use super::{ConnectClient, ConnectClientError};
use crate::model::sink::KUSTO_SINK_CLASS;
use crate::plan::Operation;

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

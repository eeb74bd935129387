//! Reading a Connect cluster's connectors: one request whatever their number, written once for
//! plan, status, import and restarts.

use std::collections::BTreeMap;

use super::types::{ExpandedConnector, State};
use super::{ConnectClient, ConnectClientError};
use crate::model::connect::{ConnectCluster, Connector, RunState, adopt_resolved_secrets};

/// A Connect cluster could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read Connect cluster `{cluster}`: {source}")]
pub struct ListError {
    /// The cluster's name in the stack.
    pub cluster: String,
    /// Why.
    #[source]
    pub source: ConnectClientError,
}

/// Every connector of `cluster` with its config (secrets masked in what the client shows) and
/// its status, from `GET /connectors?expand=status&expand=info`.
pub async fn list(
    client: &ConnectClient,
    cluster: &str,
) -> Result<BTreeMap<String, ExpandedConnector>, ListError> {
    client.list_expanded().await.map_err(|source| ListError {
        cluster: cluster.to_string(),
        source,
    })
}

impl ExpandedConnector {
    /// The run state a plan compares: `PAUSED` and `STOPPED` as such, anything else (running,
    /// failed, unassigned, restarting) as running, since that is what it was asked to do.
    pub fn run_state(&self) -> RunState {
        match self.status.connector.state {
            State::Paused => RunState::Paused,
            State::Stopped => RunState::Stopped,
            _ => RunState::Running,
        }
    }

    /// Whether the connector or any of its tasks is `FAILED`.
    pub fn has_failed(&self) -> bool {
        self.status.connector.state == State::Failed
            || self.status.tasks.iter().any(|t| t.state == State::Failed)
    }
}

/// The connectors of every cluster of `clients` as a plan compares them, all clusters at once:
/// one list request per cluster, or none for a cluster whose list was `prefetched`.
pub async fn observe_clusters(
    clients: &BTreeMap<String, ConnectClient>,
    declared: &BTreeMap<String, ConnectCluster>,
    mut prefetched: PrefetchedLists,
) -> Result<BTreeMap<String, ConnectCluster>, ListError> {
    let observed = futures::future::try_join_all(clients.iter().map(|(cluster, client)| {
        let early = prefetched.remove(cluster);
        async move {
            let listed = match early {
                Some(task) => match task.await {
                    Ok(listed) => listed?,
                    // The task was cancelled or panicked: the cluster is read again.
                    Err(_) => list(client, cluster).await?,
                },
                None => list(client, cluster).await?,
            };
            Ok::<_, ListError>((
                cluster.clone(),
                as_planned(client, declared.get(cluster), listed),
            ))
        }
    }))
    .await?;
    Ok(observed.into_iter().collect())
}

/// [`list`]s of Connect clusters sent before a plan needs them, by cluster name: a read-only
/// command sends them as soon as the manifests are read, so the answer arrives while they are
/// checked (see `Session::open_prefetching`). A list nobody waits for any more (a stack refused
/// after it was sent) is stopped, not left to retry and warn while the process ends.
pub type PrefetchedLists = BTreeMap<
    String,
    tokio_util::task::AbortOnDropHandle<Result<BTreeMap<String, ExpandedConnector>, ListError>>,
>;

/// Starts [`list`] of each of `clients`' clusters on `runtime`.
pub fn prefetch(
    runtime: &tokio::runtime::Handle,
    clients: BTreeMap<String, ConnectClient>,
) -> PrefetchedLists {
    clients
        .into_iter()
        .map(|(cluster, client)| {
            let name = cluster.clone();
            let task = tokio_util::task::AbortOnDropHandle::new(
                runtime.spawn(async move { list(&client, &name).await }),
            );
            (cluster, task)
        })
        .collect()
}

/// The connectors `listed` as a plan compares them: masked configs, where a literal secret
/// equal to what the declared `${env:NAME}` reference resolves to is taken as that reference
/// (see [`adopt_resolved_secrets`]).
fn as_planned(
    client: &ConnectClient,
    declared: Option<&ConnectCluster>,
    listed: BTreeMap<String, ExpandedConnector>,
) -> ConnectCluster {
    listed
        .into_iter()
        .map(|(name, c)| {
            let state = c.run_state();
            let live = c.info.config.expose();
            let config = match declared.and_then(|d| d.get(&name)) {
                Some(want) => {
                    client.mask_config(&adopt_resolved_secrets(&want.config, live, |var| {
                        std::env::var(var).ok()
                    }))
                }
                None => client.mask_config(live),
            };
            (
                name.clone(),
                Connector {
                    name,
                    config,
                    state,
                    renamed_from: None,
                },
            )
        })
        .collect()
}

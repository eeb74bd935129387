//! Gathers a [`StatusReport`] through the providers: one expanded connector list per Connect
//! cluster (states, tasks, traces with secrets masked by the client), then one offset read
//! per sink's consumer group. A lag that cannot be read does not fail the status: it is
//! reported as unavailable with the reason, next to the states.

use std::collections::BTreeMap;

use super::{
    ConnectorReport, Lag, PartitionLag, RouteReport, StatusReport, TaskReport, connector_health,
    error_summary,
};
use crate::model::connect::{Connector, parse_routes};
use crate::providers::connect::ExpandedConnector;
use crate::providers::kafka::TopicOffsets;
use crate::workflow::{Session, WorkflowError};

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
pub async fn collect(session: &Session) -> Result<StatusReport, WorkflowError> {
    let mut reports = Vec::new();
    for (cluster, declared) in &session.connectors {
        let Some(client) = session.connect.get(cluster) else {
            continue;
        };
        let live = client.list_expanded().await.map_err(|e| {
            WorkflowError::Target(format!("cannot read Connect cluster `{cluster}`: {e}"))
        })?;
        for want in declared.values() {
            let found = live.get(&want.name);
            let config = found.map_or(&want.config, |c| c.info.config.expose());
            let group = consumer_group(&want.name, config);
            let routes = routes_of(want);
            let lag = read_lag(session, &group, &routes).await;
            reports.push(connector_report(cluster, want, found, group, routes, lag));
        }
    }
    let stack = session
        .manifests
        .stack
        .as_ref()
        .map_or_else(|| "default".to_string(), |s| s.name.value.clone());
    Ok(StatusReport::new(
        stack,
        session.manifests.environment.clone(),
        reports,
    ))
}

/// `(topic, database, table)` of each declared route.
fn routes_of(connector: &Connector) -> Vec<(String, String, String)> {
    connector
        .config
        .get("kusto.tables.topics.mapping")
        .and_then(|m| parse_routes(m).ok())
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
    routes: Vec<(String, String, String)>,
    mut lag: BTreeMap<String, Lag>,
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
    let health = connector_health(want.state, state.as_deref(), &task_states);
    ConnectorReport {
        address: format!("connect.{cluster}.connector.{}", want.name),
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
        routes: routes
            .into_iter()
            .map(|(topic, database, table)| RouteReport {
                lag: lag
                    .remove(&topic)
                    .unwrap_or_else(|| Lag::unavailable("no offsets were returned")),
                topic,
                database,
                table,
            })
            .collect(),
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

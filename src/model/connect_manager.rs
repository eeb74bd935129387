//! Who writes the connectors of a Kafka Connect cluster. A cluster whose connectors an operator
//! owns (Strimzi with `strimzi.io/use-connector-resources: "true"`) reverts or deletes whatever
//! is written to its REST API, so kustoplan must know it is not the writer there: it still reads
//! the cluster (plan, status, verify, import) but never writes to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who writes a Connect cluster's connectors (`targets.connect.NAME.managed_by`).
#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConnectManager {
    /// kustoplan writes the connectors through the Connect REST API.
    #[default]
    Kustoplan,
    /// The Strimzi Cluster Operator does, from `KafkaConnector` resources: kustoplan plans the
    /// connectors and writes the resources (`kustoplan export strimzi`), never the REST API.
    Strimzi,
    /// Another tool does (Confluent for Kubernetes, a managed service, a GitOps controller):
    /// kustoplan plans the connectors and never writes them.
    External,
}

impl ConnectManager {
    /// Whether kustoplan may write connectors to a cluster so managed.
    pub fn lets_kustoplan_write(self) -> bool {
        self == ConnectManager::Kustoplan
    }

    /// How plans and errors name the manager.
    pub fn describe(self) -> &'static str {
        match self {
            ConnectManager::Kustoplan => "kustoplan",
            ConnectManager::Strimzi => "Strimzi (KafkaConnector resources)",
            ConnectManager::External => "a tool other than kustoplan",
        }
    }

    /// What to do instead of applying a connector change on a cluster so managed.
    pub fn instead(self) -> &'static str {
        match self {
            ConnectManager::Kustoplan => "",
            ConnectManager::Strimzi => {
                "change the KafkaConnector resources instead (`kustoplan export strimzi` writes them from the manifests)"
            }
            ConnectManager::External => "make the change with the tool that manages the cluster",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectManager;

    #[test]
    fn only_kustoplan_managed_clusters_are_written() {
        assert!(ConnectManager::default().lets_kustoplan_write());
        assert!(!ConnectManager::Strimzi.lets_kustoplan_write());
        assert!(!ConnectManager::External.lets_kustoplan_write());
    }

    #[test]
    fn manifests_spell_the_managers_in_snake_case() {
        let parsed: Vec<ConnectManager> =
            serde_json::from_str(r#"["kustoplan", "strimzi", "external"]"#).unwrap();
        assert_eq!(
            parsed,
            [
                ConnectManager::Kustoplan,
                ConnectManager::Strimzi,
                ConnectManager::External
            ]
        );
    }
}

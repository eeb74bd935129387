//! A stack's targets and names as the resolve stage decided them, once, with no manifest
//! locations: where each system is (the built-in sandbox or a live endpoint), how to
//! authenticate (secrets only by reference), who writes each Connect cluster's connectors, and
//! the name that marks connectors as the stack's. Opening targets, apply, status and export
//! read this value instead of re-deciding from the spec.

use std::collections::BTreeMap;

use super::ConnectManager;
use super::auth::AadCredential;
use super::kafka_target::KafkaConnection;

/// Everything about a stack's targets that the stages after validation need.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedStack {
    /// The `Stack` document's name, if there is one.
    pub name: Option<String>,
    /// The name that marks connectors as this stack's: its name, or `default` without one.
    pub owner: String,
    /// Where Kusto is.
    pub kusto: KustoTarget,
    /// Where Kafka is.
    pub kafka: KafkaTarget,
    /// The Connect clusters the stack declares (`targets.connect`), by name.
    pub connect: BTreeMap<String, ConnectTarget>,
}

impl ResolvedStack {
    /// Connect cluster `cluster`: as declared, or the built-in sandbox written by kustoplan for
    /// a cluster the stack does not declare (its default cluster when it declares none).
    pub fn connect(&self, cluster: &str) -> ConnectTarget {
        self.connect
            .get(cluster)
            .cloned()
            .unwrap_or_else(|| ConnectTarget {
                location: ConnectLocation::Sandbox,
                manager: ConnectManager::default(),
                strimzi_cluster: cluster.to_string(),
            })
    }

    /// Whether the stack's Kusto target is a live cluster.
    pub fn kusto_is_live(&self) -> bool {
        matches!(self.kusto, KustoTarget::Live { .. })
    }
}

/// Where Kusto is, and how to sign in to it.
#[derive(Debug, Clone, PartialEq)]
pub enum KustoTarget {
    /// The built-in sandbox.
    Sandbox,
    /// A cluster.
    Live {
        /// Its query URL, as the manifest gives it.
        cluster: String,
        /// The Entra ID credential (`targets.kusto.auth`).
        credential: AadCredential,
    },
}

/// Where Kafka is.
#[derive(Debug, Clone, PartialEq)]
pub enum KafkaTarget {
    /// The built-in sandbox.
    Sandbox,
    /// A cluster, with its connection settings.
    Live(Box<KafkaConnection>),
}

/// One Connect cluster of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// Where its REST API is.
    pub location: ConnectLocation,
    /// Who writes its connectors.
    pub manager: ConnectManager,
    /// The `strimzi.io/cluster` label of its KafkaConnector resources.
    pub strimzi_cluster: String,
}

/// Where a Connect cluster's REST API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectLocation {
    /// The built-in sandbox.
    Sandbox,
    /// A worker.
    Live {
        /// Its REST URL.
        url: String,
        /// Basic auth, when the manifest sets a password.
        basic_auth: Option<BasicAuthRef>,
    },
}

/// Basic-auth credentials by reference: the password is read from the environment when the
/// client is opened, so the resolved stack never holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthRef {
    /// The user name (empty when the manifest sets none).
    pub username: String,
    /// The environment variable holding the password.
    pub password_env: String,
}

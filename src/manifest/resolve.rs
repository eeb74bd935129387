//! Decisions about a loaded stack that several stages need, made in one place: the database
//! of tables and routes that name none, the stack's name, each system's endpoint, and the
//! location-free Kafka connection and Entra ID credentials the providers are given.

use std::path::PathBuf;

use super::Manifests;
use super::located::Located;
use super::spec::{AadAuth, KafkaTarget};
use crate::model::ConnectManager;
use crate::model::auth::AadCredential;
use crate::model::endpoint::Endpoint;
use crate::model::kafka_target::KafkaConnection;

/// The name sinks use for the Connect cluster when the stack declares none (the built-in sandbox).
pub const DEFAULT_CONNECT: &str = "default";

/// The owner name connectors get when the manifests have no `Stack` document.
pub const DEFAULT_STACK: &str = "default";

impl Manifests {
    /// The database of a table or route that names none: the first declared one (validation
    /// reports a missing database where more than one is declared).
    pub fn default_database(&self) -> Option<&str> {
        self.databases.first().map(|d| d.name.value.as_str())
    }

    /// `database` when given, else [`Manifests::default_database`]; empty when the stack
    /// declares no database (validation has reported that).
    pub fn database_or_default(&self, database: Option<&Located<String>>) -> String {
        database
            .map(|d| d.value.as_str())
            .or_else(|| self.default_database())
            .unwrap_or_default()
            .to_string()
    }

    /// The Connect cluster of a sink that names none: the only declared one, or
    /// [`DEFAULT_CONNECT`] (the built-in sandbox) when the stack declares none. With several
    /// declared, validation requires every sink to name one.
    pub fn connect_cluster_or_default(&self, connect: Option<&Located<String>>) -> String {
        connect
            .map(|c| c.value.as_str())
            .or_else(|| {
                self.stack
                    .as_ref()
                    .filter(|s| s.targets.connect.len() == 1)
                    .and_then(|s| s.targets.connect.keys().next())
                    .map(String::as_str)
            })
            .unwrap_or(DEFAULT_CONNECT)
            .to_string()
    }

    /// The `Stack` document's name, if there is one.
    pub fn stack_name(&self) -> Option<&str> {
        self.stack.as_ref().map(|s| s.name.value.as_str())
    }

    /// The name that marks connectors as this stack's: its name, or [`DEFAULT_STACK`].
    pub fn owner_name(&self) -> &str {
        self.stack_name().unwrap_or(DEFAULT_STACK)
    }

    /// Where Kusto is: `targets.kusto.cluster`, or the sandbox without one.
    pub fn kusto_endpoint(&self) -> Endpoint<'_> {
        Endpoint::of_optional(
            self.stack
                .as_ref()
                .and_then(|s| s.targets.kusto.as_ref())
                .map(|k| k.cluster.value.as_str()),
        )
    }

    /// Where Kafka is: `targets.kafka.bootstrap_servers`, or the sandbox without one.
    pub fn kafka_endpoint(&self) -> Endpoint<'_> {
        Endpoint::of_optional(
            self.stack
                .as_ref()
                .and_then(|s| s.targets.kafka.as_ref())
                .map(|k| k.bootstrap_servers.value.as_str()),
        )
    }

    /// Who writes the connectors of Connect cluster `cluster`: its `managed_by`, or kustoplan
    /// for a cluster the stack does not declare (the built-in sandbox).
    pub fn connect_manager(&self, cluster: &str) -> ConnectManager {
        self.stack
            .as_ref()
            .and_then(|s| s.targets.connect.get(cluster))
            .map(|c| c.managed_by)
            .unwrap_or_default()
    }

    /// The `strimzi.io/cluster` label of Connect cluster `cluster`'s KafkaConnector resources:
    /// its `strimzi_cluster`, or its name in `targets.connect`.
    pub fn strimzi_cluster<'a>(&'a self, cluster: &'a str) -> &'a str {
        self.stack
            .as_ref()
            .and_then(|s| s.targets.connect.get(cluster))
            .and_then(|c| c.strimzi_cluster.as_ref())
            .map_or(cluster, |c| c.value.as_str())
    }

    /// Where Connect cluster `cluster` is: its `targets.connect` URL, or the sandbox.
    pub fn connect_endpoint(&self, cluster: &str) -> Endpoint<'_> {
        Endpoint::of_optional(
            self.stack
                .as_ref()
                .and_then(|s| s.targets.connect.get(cluster))
                .map(|c| c.url.value.as_str()),
        )
    }
}

impl Manifests {
    /// The Kafka cluster of `targets.kafka`, resolved for the Kafka provider; `None` without
    /// one (the built-in sandbox).
    pub fn kafka_connection(&self) -> Option<KafkaConnection> {
        self.stack
            .as_ref()
            .and_then(|s| s.targets.kafka.as_ref())
            .map(KafkaTarget::resolve)
    }

    /// The credential of `targets.kusto.auth`, resolved for the Kusto provider; no credential
    /// (method `none`) without a Kusto target.
    pub fn kusto_credential(&self) -> AadCredential {
        self.stack
            .as_ref()
            .and_then(|s| s.targets.kusto.as_ref())
            .map(|k| k.auth.resolve())
            .unwrap_or_default()
    }
}

impl AadAuth {
    /// The credential without its manifest locations (validation has reported against them).
    pub fn resolve(&self) -> AadCredential {
        AadCredential {
            method: *self.method,
            tenant_id: self.tenant_id.as_ref().map(|t| t.value.clone()),
            client_id: self.client_id.as_ref().map(|c| c.value.clone()),
            client_secret: self.client_secret.as_ref().map(|s| s.value.clone()),
            token_file: self.token_file.as_ref().map(PathBuf::from),
        }
    }
}

impl KafkaTarget {
    /// The connection without its manifest locations (validation has reported against them).
    pub fn resolve(&self) -> KafkaConnection {
        let security = &self.security;
        KafkaConnection {
            bootstrap_servers: self.bootstrap_servers.value.clone(),
            protocol: security.protocol,
            sasl_mechanism: security.sasl_mechanism.as_ref().map(|m| m.value),
            username: security.username.as_ref().map(|u| u.value.clone()),
            password: security.password.as_ref().map(|p| p.value.clone()),
            ca_location: security.ca_location.as_ref().map(PathBuf::from),
            auth: security.auth.as_ref().map(|a| a.resolve()),
            scope: security.scope.as_ref().map(|s| s.value.clone()),
            properties: self
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.value.0.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::{LoadOptions, load};
    use crate::model::endpoint::Endpoint;

    #[test]
    fn the_gameplay_stack_resolves_its_defaults_and_endpoints() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).unwrap();
        assert_eq!(m.default_database(), Some("gamedb"));
        assert_eq!(m.database_or_default(None), "gamedb");
        assert_eq!(m.connect_cluster_or_default(None), "main");
        assert_eq!(m.owner_name(), "gameplay");
        assert!(m.kusto_endpoint().is_sandbox());
        assert!(m.kafka_endpoint().is_sandbox());
        assert!(m.connect_endpoint("main").is_sandbox());
        let prod = LoadOptions {
            environment: Some("prod".into()),
            vars: Vec::new(),
        };
        let m = load(&["examples/gameplay".into()], &prod).unwrap();
        assert_eq!(
            m.kusto_endpoint(),
            Endpoint::Live("https://gameplay.westeurope.kusto.windows.net")
        );
    }

    #[test]
    fn without_a_stack_document_the_defaults_are_the_sandbox_and_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("db.yaml"),
            "kind: Database\nname: one\n---\nkind: Database\nname: two\n",
        )
        .unwrap();
        let m = load(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap();
        assert_eq!(m.stack_name(), None);
        assert_eq!(m.owner_name(), super::DEFAULT_STACK);
        assert_eq!(m.connect_cluster_or_default(None), super::DEFAULT_CONNECT);
        assert_eq!(m.default_database(), Some("one"));
        assert!(m.connect_endpoint("anything").is_sandbox());
    }
}

//! Decisions about a loaded stack that several stages need, made in one place: the database
//! of tables and routes that name none, the Connect cluster of sinks that name none, the
//! stack's name, and [`ResolvedStack`]: each system's target with the location-free Kafka
//! connection, Entra ID credentials and Connect basic auth the providers are given.

use std::path::PathBuf;

use super::Manifests;
use super::located::Located;
use super::spec::{AadAuth, ConnectTarget as ConnectTargetSpec, KafkaTarget as KafkaTargetSpec};
use crate::model::auth::{AadCredential, SecretRef};
use crate::model::endpoint::Endpoint;
use crate::model::kafka_target::KafkaConnection;
use crate::model::stack::{
    BasicAuthRef, ConnectLocation, ConnectTarget, KafkaTarget, KustoTarget, ResolvedStack,
};

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

    /// The stack's targets and names, decided once for every stage after validation.
    pub fn resolve_stack(&self) -> ResolvedStack {
        let targets = self.stack.as_ref().map(|s| &s.targets);
        let kusto = match targets.and_then(|t| t.kusto.as_ref()) {
            Some(k) if !Endpoint::of(&k.cluster.value).is_sandbox() => KustoTarget::Live {
                cluster: k.cluster.value.clone(),
                credential: k.auth.resolve(),
            },
            _ => KustoTarget::Sandbox,
        };
        let kafka = match targets.and_then(|t| t.kafka.as_ref()) {
            Some(k) if !Endpoint::of(&k.bootstrap_servers.value).is_sandbox() => {
                KafkaTarget::Live(Box::new(k.resolve()))
            }
            _ => KafkaTarget::Sandbox,
        };
        let connect = targets
            .map(|t| &t.connect)
            .into_iter()
            .flatten()
            .map(|(name, target)| (name.clone(), target.resolve(name)))
            .collect();
        ResolvedStack {
            name: self.stack_name().map(str::to_string),
            owner: self.owner_name().to_string(),
            kusto,
            kafka,
            connect,
        }
    }
}

impl ConnectTargetSpec {
    /// The cluster named `name` in `targets.connect`, without its manifest locations. A
    /// password written as text is not used (validation has refused it).
    pub fn resolve(&self, name: &str) -> ConnectTarget {
        let location = match Endpoint::of(&self.url.value) {
            Endpoint::Sandbox => ConnectLocation::Sandbox,
            Endpoint::Live(url) => ConnectLocation::Live {
                url: url.to_string(),
                basic_auth: match self.password.as_ref().map(|p| &p.value) {
                    Some(SecretRef::Env { env }) => Some(BasicAuthRef {
                        username: self.username.clone().unwrap_or_default(),
                        password_env: env.clone(),
                    }),
                    Some(SecretRef::Text(_)) | None => None,
                },
            },
        };
        ConnectTarget {
            location,
            manager: self.managed_by,
            strimzi_cluster: self
                .strimzi_cluster
                .as_ref()
                .map_or(name, |c| c.value.as_str())
                .to_string(),
        }
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

impl KafkaTargetSpec {
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
    use crate::model::stack::{ConnectLocation, KafkaTarget, KustoTarget};

    #[test]
    fn the_gameplay_stack_resolves_its_defaults_and_endpoints() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).unwrap();
        assert_eq!(m.default_database(), Some("gamedb"));
        assert_eq!(m.database_or_default(None), "gamedb");
        assert_eq!(m.connect_cluster_or_default(None), "main");
        assert_eq!(m.owner_name(), "gameplay");
        let stack = m.resolve_stack();
        assert_eq!(stack.kusto, KustoTarget::Sandbox);
        assert_eq!(stack.kafka, KafkaTarget::Sandbox);
        assert_eq!(stack.connect("main").location, ConnectLocation::Sandbox);
        assert_eq!(stack.owner, "gameplay");
        let prod = LoadOptions {
            environment: Some("prod".into()),
            vars: Vec::new(),
        };
        let m = load(&["examples/gameplay".into()], &prod).unwrap();
        assert_eq!(
            m.kusto_endpoint(),
            Endpoint::Live("https://gameplay.westeurope.kusto.windows.net")
        );
        assert!(matches!(
            m.resolve_stack().kusto,
            KustoTarget::Live { cluster, .. } if cluster == "https://gameplay.westeurope.kusto.windows.net"
        ));
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
        let stack = m.resolve_stack();
        assert_eq!(stack.name, None);
        assert_eq!(stack.owner, super::DEFAULT_STACK);
        let anything = stack.connect("anything");
        assert_eq!(anything.location, ConnectLocation::Sandbox);
        assert_eq!(anything.manager, crate::model::ConnectManager::Kustoplan);
        assert_eq!(anything.strimzi_cluster, "anything");
    }

    #[test]
    fn connect_targets_resolve_their_worker_auth_by_reference_and_their_manager() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stack.yaml"),
            "kind: Stack\nname: s\ntargets:\n  connect:\n    ops:\n      url: https://connect.example.com:8083/\n      username: deployer\n      password: {env: CONNECT_PASSWORD}\n    k8s:\n      url: sandbox\n      managed_by: strimzi\n      strimzi_cluster: my-connect\n",
        )
        .unwrap();
        let m = load(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap();
        let stack = m.resolve_stack();
        assert_eq!(
            stack.connect("ops").location,
            ConnectLocation::Live {
                url: "https://connect.example.com:8083/".into(),
                basic_auth: Some(crate::model::stack::BasicAuthRef {
                    username: "deployer".into(),
                    password_env: "CONNECT_PASSWORD".into(),
                }),
            }
        );
        let k8s = stack.connect("k8s");
        assert_eq!(k8s.location, ConnectLocation::Sandbox);
        assert_eq!(k8s.manager, crate::model::ConnectManager::Strimzi);
        assert_eq!(k8s.strimzi_cluster, "my-connect");
    }
}

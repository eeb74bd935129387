//! Resolves each target of a stack once, to the built-in sandbox or to a live system, and opens
//! the backend the providers are written against: [`KafkaBackend`], the Kusto transport, one
//! Connect client per cluster. This is the only module that knows both sides: `providers/`
//! does not know the sandbox exists, `sandbox/` implements the providers' interfaces, and
//! `workflow`, `status`, `import` and `verify` receive what is opened here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::connect::{ConnectCluster, Topic};
use crate::model::kusto::KustoState;
use crate::model::stack::{ConnectLocation, KafkaTarget, KustoTarget, ResolvedStack};
use crate::providers::connect::observe::ListError;
use crate::providers::connect::{
    BasicAuth, ConnectClient, ConnectClientError, ConnectClientOptions,
};
use crate::providers::kafka::{KafkaBackend, KafkaBroker, KafkaError};
use crate::providers::kusto::transport::{KustoTransport, TransportError};
use crate::providers::kusto::{
    ClientOptions, KustoClient, KustoClientError, TokenError, TokenSource,
};
use crate::sandbox::connect::ConnectSandbox;
use crate::sandbox::kafka::KafkaSandbox;
use crate::sandbox::kusto::KustoSandbox;
use crate::workflow::Source;

/// The built-in sandbox directory's lease, as the commands that open targets ask for it and
/// hold it: re-exported so nothing outside this module reaches into `sandbox/` to open targets.
pub use crate::sandbox::lease::{DirLease, LeaseError, LeaseMode, LeaseRequest};

/// Why a system could not be opened, reached or read; the message says which system and what
/// to do, and never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A Kusto request failed.
    #[error("{}", .0.message)]
    Kusto(TransportError),
    /// No token source could be set up for the cluster.
    #[error("cannot authenticate to {cluster}: {source}")]
    KustoAuth {
        /// The cluster URL.
        cluster: String,
        /// Why.
        source: TokenError,
    },
    /// The Kusto client could not be built (an invalid cluster URL, ...).
    #[error(transparent)]
    KustoClient(KustoClientError),
    /// A Connect cluster could not be listed.
    #[error(transparent)]
    ConnectList(#[from] ListError),
    /// A Connect cluster could not be reached.
    #[error("cannot reach Connect cluster `{cluster}`: {source}")]
    ConnectOpen {
        /// The cluster's name in the stack.
        cluster: String,
        /// Why.
        source: ConnectClientError,
    },
    /// Connect could not validate the configs the plan writes.
    #[error("cannot validate connector configs on `{cluster}`: {source}")]
    ConnectValidate {
        /// The cluster's name in the stack.
        cluster: String,
        /// Why.
        source: ConnectClientError,
    },
    /// The Kafka cluster could not be reached.
    #[error("cannot reach Kafka: {0}")]
    KafkaOpen(KafkaError),
    /// The Kafka topics could not be read.
    #[error("cannot read Kafka topics: {0}")]
    KafkaRead(KafkaError),
    /// The built-in sandbox of a system could not be opened.
    #[error("cannot open the built-in {system} in {}: {source}", .dir.display())]
    SandboxOpen {
        /// `sandbox`, `Kafka sandbox` or `Connect sandbox`.
        system: &'static str,
        /// Its directory.
        dir: PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The sandbox lock could not be taken.
    #[error(transparent)]
    Lease(LeaseError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// The directory the built-in sandbox persists to: `--sandbox-dir`, else `.kustoplan/sandbox`
/// next to the manifests.
pub fn sandbox_dir(source: &Source) -> PathBuf {
    if let Some(dir) = &source.sandbox_dir {
        return dir.clone();
    }
    let root = source.paths.first().map_or_else(
        || PathBuf::from("."),
        |p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            }
        },
    );
    root.join(".kustoplan").join("sandbox")
}

/// Whether any target the stack uses is the built-in sandbox (so its directory must be
/// leased before anything is opened): Kusto always, Kafka when the stack has topics or
/// connectors, each Connect cluster with connectors.
pub fn uses_sandbox(
    stack: &ResolvedStack,
    topics: &BTreeMap<String, Topic>,
    connectors: &BTreeMap<String, ConnectCluster>,
) -> bool {
    let kusto = stack.kusto == KustoTarget::Sandbox;
    let kafka = (!topics.is_empty() || connectors.values().any(|c| !c.is_empty()))
        && stack.kafka == KafkaTarget::Sandbox;
    let connect = connectors
        .keys()
        .any(|cluster| stack.connect(cluster).location == ConnectLocation::Sandbox);
    kusto || kafka || connect
}

/// Leases the built-in sandbox's directory as `request` asks when any target of the stack is
/// the sandbox ([`uses_sandbox`]); live targets need none.
pub fn lease_sandbox(
    stack: &ResolvedStack,
    topics: &BTreeMap<String, Topic>,
    connectors: &BTreeMap<String, ConnectCluster>,
    source: &Source,
    request: &LeaseRequest,
) -> Result<Option<DirLease>, LeaseError> {
    if !uses_sandbox(stack, topics, connectors) {
        return Ok(None);
    }
    DirLease::acquire(&sandbox_dir(source), request).map(Some)
}

/// The Kafka backend of the stack's target: the built-in sandbox persisted in the sandbox
/// directory (for `bootstrap_servers: sandbox` or no Kafka target), else the cluster (the SASL
/// password is read from its environment variable now).
pub fn open_kafka(
    stack: &ResolvedStack,
    source: &Source,
) -> Result<Arc<dyn KafkaBackend>, TargetError> {
    match &stack.kafka {
        KafkaTarget::Live(target) => KafkaBroker::for_target(target)
            .map(|broker| Arc::new(broker) as Arc<dyn KafkaBackend>)
            .map_err(TargetError::KafkaOpen),
        KafkaTarget::Sandbox => {
            let dir = sandbox_dir(source);
            KafkaSandbox::open(&dir)
                .map(|sandbox| Arc::new(sandbox) as Arc<dyn KafkaBackend>)
                .map_err(|e| TargetError::SandboxOpen {
                    system: "Kafka sandbox",
                    dir,
                    source: Box::new(e),
                })
        }
    }
}

/// One client per Connect cluster named by `connectors`' keys (the built-in sandbox for
/// `url: sandbox` or an undeclared cluster).
pub fn open_connect(
    stack: &ResolvedStack,
    connectors: &BTreeMap<String, ConnectCluster>,
    source: &Source,
) -> Result<BTreeMap<String, ConnectClient>, TargetError> {
    connectors
        .keys()
        .map(|cluster| {
            Ok((
                cluster.clone(),
                open_connect_cluster(stack, cluster, source)?,
            ))
        })
        .collect()
}

/// Clients of the live ones of `clusters` (not the built-in sandbox, whose directory is
/// leased first), for reads sent before the stack is checked. A cluster whose client cannot
/// be opened is left out: [`open_connect`] opens it again and reports why.
pub fn open_live_connect(
    stack: &ResolvedStack,
    clusters: &BTreeSet<String>,
    source: &Source,
) -> BTreeMap<String, ConnectClient> {
    clusters
        .iter()
        .filter(|cluster| {
            matches!(
                stack.connect(cluster).location,
                ConnectLocation::Live { .. }
            )
        })
        .filter_map(|cluster| {
            let client = open_connect_cluster(stack, cluster, source).ok()?;
            Some((cluster.clone(), client))
        })
        .collect()
}

fn open_connect_cluster(
    stack: &ResolvedStack,
    cluster: &str,
    source: &Source,
) -> Result<ConnectClient, TargetError> {
    let open_error = |source| TargetError::ConnectOpen {
        cluster: cluster.to_string(),
        source,
    };
    match stack.connect(cluster).location {
        ConnectLocation::Sandbox => {
            let dir = sandbox_dir(source).join("connect").join(cluster);
            let sandbox = ConnectSandbox::open(&dir).map_err(|e| TargetError::SandboxOpen {
                system: "Connect sandbox",
                dir: dir.clone(),
                source: Box::new(e),
            })?;
            ConnectClient::local(Arc::new(sandbox))
        }
        ConnectLocation::Live { url, basic_auth } => {
            let auth = basic_auth
                .map(|a| BasicAuth::from_env(a.username, &a.password_env))
                .transpose()
                .map_err(open_error)?;
            ConnectClient::new(&url, auth, ConnectClientOptions::default())
        }
    }
    .map_err(open_error)
}

/// The Kusto transport of the stack's target; the built-in sandbox is opened with `desired`'s
/// databases.
pub fn open_kusto(
    stack: &ResolvedStack,
    desired: &KustoState,
    source: &Source,
) -> Result<KustoTransport, TargetError> {
    let KustoTarget::Live {
        cluster,
        credential,
    } = &stack.kusto
    else {
        let dir = sandbox_dir(source);
        let databases: Vec<String> = desired.databases.keys().cloned().collect();
        let sandbox =
            KustoSandbox::open(&dir, &databases).map_err(|e| TargetError::SandboxOpen {
                system: "sandbox",
                dir: dir.clone(),
                source: Box::new(e),
            })?;
        return Ok(KustoTransport::new(Arc::new(sandbox)));
    };
    let tokens =
        TokenSource::from_auth(credential, cluster).map_err(|source| TargetError::KustoAuth {
            cluster: cluster.to_string(),
            source,
        })?;
    let client = KustoClient::new(cluster, tokens, ClientOptions::default())
        .map_err(TargetError::KustoClient)?;
    Ok(KustoTransport::http(client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load};

    /// A stack whose only target is Kafka at `bootstrap`, in `dir`, resolved, and its source.
    fn stack(dir: &Path, bootstrap: &str) -> (ResolvedStack, Source) {
        std::fs::write(
            dir.join("stack.yaml"),
            format!(
                "kind: Stack\nname: s\ntargets:\n  kafka:\n    bootstrap_servers: {bootstrap}\n"
            ),
        )
        .expect("write stack");
        let source = Source {
            paths: vec![dir.join("stack.yaml")],
            environment: None,
            vars: Vec::new(),
            sandbox_dir: Some(dir.join("sandbox")),
            targets: Vec::new(),
        };
        let m = load(&source.paths, &LoadOptions::default()).expect("load");
        (m.resolve_stack(), source)
    }

    #[tokio::test]
    async fn a_sandbox_kafka_target_persists_topics_in_the_sandbox_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (m, source) = stack(dir.path(), "sandbox");
        let kafka = open_kafka(&m, &source).expect("open");
        assert!(
            kafka.lag_reader().is_none(),
            "the sandbox has no consumer groups"
        );
        let topic = Topic {
            name: "gameplay".into(),
            partitions: 4,
            replication_factor: None,
            configs: BTreeMap::new(),
        };
        kafka
            .create_topics(std::slice::from_ref(&topic))
            .await
            .expect("create");
        drop(kafka);
        let again = open_kafka(&m, &source).expect("reopen");
        let seen = again
            .observe(&["gameplay".to_string()])
            .await
            .expect("observe");
        assert_eq!(seen["gameplay"].partitions, 4);
        assert_eq!(again.requests(), 1);
    }

    #[test]
    fn a_broker_target_does_not_touch_the_sandbox_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (m, source) = stack(dir.path(), "127.0.0.1:9");
        let kafka = open_kafka(&m, &source).expect("client");
        assert!(kafka.lag_reader().is_some());
        assert!(!sandbox_dir(&source).exists());
    }
}

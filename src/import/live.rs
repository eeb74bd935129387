//! Reading the live systems for `import`, through the same providers (and the same target
//! resolution) as `plan`. Literal connector secrets are replaced by references here, right where
//! the configs arrive, so no other part of import ever holds a secret value.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use regex::Regex;

use super::Observed;
use super::sink::reference_secrets;
use crate::manifest::Manifests;
use crate::model::connect::{ConnectCluster, Connector};
use crate::model::kusto::KustoState;
use crate::model::sink::{KUSTO_SINK_CLASS, key, routes_in};
use crate::model::stack::ResolvedStack;
use crate::providers::connect::observe as connect_observe;
use crate::providers::kusto::observe::{Prefetched, database_names, observe_prefetched};
use crate::providers::kusto::transport::KustoTransport;
use crate::targets::{open_connect, open_kafka, open_kusto};
use crate::workflow::{Source, TargetError, WorkflowError};

/// What to import; empty lists mean everything the Stack's targets reach.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Kusto databases (default: every database `.show databases` lists).
    pub databases: Vec<String>,
    /// Connect clusters by their name in `targets.connect` (default: all of them).
    pub connect: Vec<String>,
    /// Only connectors whose names match (default: all).
    pub sinks: Option<Regex>,
    /// Topics whose names match, besides the topics the imported sinks route from and
    /// dead-letter to.
    pub topics: Option<Regex>,
}

/// Reads the selected databases, connectors and topics. Kusto is read while the connectors and
/// their topics are (the systems are independent: reading them one after another added a round
/// trip to each import); a failure is reported as before, Kusto's first.
pub async fn read(
    m: &Manifests,
    source: &Source,
    selection: &Selection,
) -> Result<Observed, WorkflowError> {
    let clusters = clusters(m, selection)?;
    let stack = m.resolve_stack();
    // No databases are named to the opener: on the built-in sandbox that would create them, and
    // import changes nothing.
    let transport = Arc::new(open_kusto(&stack, &KustoState::default(), source)?);
    let (kusto, rest) = tokio::join!(
        read_kusto(m, &stack, &transport, selection),
        read_connect_and_kafka(&stack, &clusters, source, selection),
    );
    let kusto = kusto?;
    Ok(Observed { kusto, ..rest? })
}

/// The selected databases, whole. Without `--database`, `.show databases` names them; while it
/// is answered, the bulk reads of the databases the stack declares (the ones most likely
/// listed) are already sent to a live cluster ([`early_reads`]).
async fn read_kusto(
    m: &Manifests,
    stack: &ResolvedStack,
    transport: &Arc<KustoTransport>,
    selection: &Selection,
) -> Result<KustoState, WorkflowError> {
    let (databases, early) = if selection.databases.is_empty() {
        let early = early_reads(m, stack, transport);
        (database_names(transport).await?, early)
    } else {
        (selection.databases.clone(), Prefetched::default())
    };
    let named = KustoState {
        databases: databases
            .iter()
            .map(|db| (db.clone(), Default::default()))
            .collect(),
    };
    Ok(observe_prefetched(transport, &named, early).await?)
}

/// The bulk reads of the declared databases, started before `.show databases` answers: one
/// round trip less for every import of a stack that declares its databases. Observe takes the
/// reads of the databases the cluster lists and sends no read twice; those of a declared
/// database it does not list are dropped unread (they only read). Not on the built-in sandbox,
/// which answers in process, without a round trip to save.
fn early_reads(
    m: &Manifests,
    stack: &ResolvedStack,
    transport: &Arc<KustoTransport>,
) -> Prefetched {
    if !stack.kusto_is_live() {
        return Prefetched::default();
    }
    let declared = m.databases.iter().map(|d| d.name.value.clone());
    Prefetched::start(&tokio::runtime::Handle::current(), transport, declared)
}

/// The selected connectors of every selected Connect cluster (literal secrets replaced), then
/// the topics their Kusto sinks route from and dead-letter to, plus those `--topics` matches.
async fn read_connect_and_kafka(
    stack: &ResolvedStack,
    clusters: &[String],
    source: &Source,
    selection: &Selection,
) -> Result<Observed, WorkflowError> {
    let mut observed = Observed::default();
    let mut routed = BTreeSet::new();
    let wanted: BTreeMap<String, ConnectCluster> = clusters
        .iter()
        .map(|c| (c.clone(), ConnectCluster::new()))
        .collect();
    for (cluster, client) in open_connect(stack, &wanted, source)? {
        let listed = connect_observe::list(&client, &cluster).await?;
        let mut connectors = BTreeMap::new();
        let selected = listed
            .into_iter()
            .filter(|(name, _)| selection.sinks.as_ref().is_none_or(|p| p.is_match(name)));
        for (name, c) in selected {
            let (config, secrets) = reference_secrets(&cluster, &name, c.info.config.expose());
            observed.secrets.extend(secrets);
            if config.get("connector.class").map(String::as_str) == Some(KUSTO_SINK_CLASS) {
                routed.extend(routed_topics(&config));
            }
            let state = c.run_state();
            connectors.insert(
                name.clone(),
                Connector {
                    name,
                    config,
                    state,
                    renamed_from: None,
                },
            );
        }
        observed.connect.insert(cluster, connectors);
    }

    if !routed.is_empty() || selection.topics.is_some() {
        let kafka = open_kafka(stack, source)?;
        let kafka_error = TargetError::KafkaRead;
        let mut names = routed;
        if let Some(pattern) = &selection.topics {
            names.extend(
                kafka
                    .topic_names()
                    .await
                    .map_err(kafka_error)?
                    .into_iter()
                    .filter(|t| pattern.is_match(t)),
            );
        }
        let names: Vec<String> = names.into_iter().collect();
        observed.topics = kafka.observe(&names).await.map_err(kafka_error)?;
    }
    Ok(observed)
}

/// The Connect clusters to read: the selection (each must be a declared target), else every
/// declared one.
fn clusters(m: &Manifests, selection: &Selection) -> Result<Vec<String>, WorkflowError> {
    let declared: Vec<String> = m
        .stack
        .as_ref()
        .map(|s| s.targets.connect.keys().cloned().collect())
        .unwrap_or_default();
    if selection.connect.is_empty() {
        return Ok(declared);
    }
    let unknown: Vec<String> = selection
        .connect
        .iter()
        .filter(|c| !declared.contains(c))
        .map(|c| {
            format!(
                "`--connect {c}`: the Stack declares no Connect cluster `{c}` (declared: {})",
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                }
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(selection.connect.clone())
    } else {
        Err(WorkflowError::Plan(unknown))
    }
}

/// The topics a Kusto sink reads from or dead-letters to.
fn routed_topics(config: &BTreeMap<String, String>) -> Vec<String> {
    let mut topics: Vec<String> = routes_in(config)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.topic)
        .collect();
    topics.extend(config.get(key::DLQ_TOPIC).cloned());
    topics
}

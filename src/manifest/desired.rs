//! Desired state: a valid stack turned into the canonical model the diff compares.

use std::collections::{BTreeMap, BTreeSet};

use super::Manifests;
use super::spec::{
    BatchingSpec, CachingSpec, ConnectorState, Converter, FunctionDoc, MappingSpec,
    MaterializedViewDoc, PrincipalSpec, Recoverability, RetentionSpec, SecretRef, SinkDoc,
    TableDoc,
};
use crate::model::connect::{ConnectCluster, Connector, RunState, Topic};
use crate::model::kusto::{
    Column, DatabaseState, KustoState, Mapping, MappingColumn, RoleKey, TableState,
};
use crate::model::sink::{
    ConverterSettings, DeadLetterSettings, ErrorSettings, FlushSettings, Route, SinkAuthSettings,
    SinkSettings, converter_class,
};
use crate::model::{BatchingPolicy, CachingPolicy, HotWindow, RetentionPolicy, normalize_instant};
use crate::model::{
    ColumnType, MappingKind, MappingProperties, PrincipalKind, PrincipalRef, Timespan,
};
use crate::model::{Function, MaterializedView, Parameter, ParameterType, UpdatePolicy};

/// The Kusto state the stack declares. Call only on a stack that passed validation: invalid
/// values that validation rejects are skipped here rather than reported twice.
pub fn kusto_state(m: &Manifests) -> KustoState {
    state_with_tables(m, m.tables.iter())
}

/// [`kusto_state`], taking the table documents out of `m` and freeing each one as soon as its
/// table is built: a session keeps only the state, and at 10,000 tables the documents (about
/// 20 MB) and the state built from them (about 14 MB) were both alive at the plan's peak.
pub fn kusto_state_taking_tables(m: &mut Manifests) -> KustoState {
    let tables = std::mem::take(&mut m.tables);
    state_with_tables(m, tables.into_iter())
}

fn state_with_tables<T: std::borrow::Borrow<TableDoc>>(
    m: &Manifests,
    tables: impl Iterator<Item = T>,
) -> KustoState {
    let owner = m.stack_name().map(str::to_string);
    let mut state = KustoState::default();
    for db in &m.databases {
        state.databases.insert(
            db.name.value.clone(),
            DatabaseState {
                name: db.name.value.clone(),
                tables: BTreeMap::new(),
                functions: BTreeMap::new(),
                materialized_views: BTreeMap::new(),
                batching: db.ingestion_batching.as_ref().map(|b| batching(b)),
                streaming: db.streaming_ingestion.as_ref().is_some_and(|s| s.value),
                retention: db.retention.as_ref().and_then(|r| retention(r)),
                caching: db.caching.as_ref().and_then(|c| caching(c)),
                principals: principals(&db.principals.roles()),
                declared_roles: listed(&db.principals.listed()),
                directory: BTreeMap::new(),
                query_schemas: BTreeMap::new(),
            },
        );
    }
    for t in tables {
        let t = t.borrow();
        let db_name = m.database_or_default(t.database.as_ref());
        if let Some(db) = state.databases.get_mut(&db_name) {
            db.tables
                .insert(t.name.value.clone(), table(t, owner.clone()));
        }
    }
    for f in &m.functions {
        let db_name = m.database_or_default(f.database.as_ref());
        if let Some(db) = state.databases.get_mut(&db_name) {
            db.functions
                .insert(f.name.value.clone(), function(f, owner.clone()));
        }
    }
    for v in &m.materialized_views {
        let db_name = m.database_or_default(v.database.as_ref());
        if let Some(db) = state.databases.get_mut(&db_name) {
            db.materialized_views
                .insert(v.name.value.clone(), materialized_view(v, owner.clone()));
        }
    }
    state
}

fn materialized_view(v: &MaterializedViewDoc, owner: Option<String>) -> MaterializedView {
    MaterializedView {
        name: v.name.value.clone(),
        source: v.source.value.clone(),
        query: v.query.value.clone(),
        docstring: v.docstring.clone().unwrap_or_default(),
        folder: v.folder.clone().unwrap_or_default(),
        owner,
        lookback: v.lookback.as_ref().and_then(|l| Timespan::parse(l)),
        auto_update_schema: Some(v.auto_update_schema),
        backfill: v.backfill,
        renamed_from: v.renamed_from.as_ref().map(|r| r.value.clone()),
    }
}

fn function(f: &FunctionDoc, owner: Option<String>) -> Function {
    Function {
        name: f.name.value.clone(),
        parameters: f
            .parameters
            .iter()
            .filter_map(|p| {
                ColumnType::parse(&p.ty).map(|ty| Parameter {
                    name: p.name.value.clone(),
                    ty: ParameterType::Scalar(ty),
                })
            })
            .collect(),
        body: f.body.value.clone(),
        docstring: f.docstring.clone().unwrap_or_default(),
        folder: f.folder.clone().unwrap_or_default(),
        owner,
        skip_validation: f.skipvalidation,
        renamed_from: f.renamed_from.as_ref().map(|r| r.value.clone()),
    }
}

fn table(t: &TableDoc, owner: Option<String>) -> TableState {
    TableState {
        name: t.name.value.clone(),
        columns: t
            .columns
            .iter()
            .filter_map(|c| {
                ColumnType::parse(&c.ty).map(|ty| Column {
                    name: c.name.value.clone(),
                    ty,
                })
            })
            .collect(),
        docstring: t.docstring.clone().unwrap_or_default(),
        folder: t.folder.clone().unwrap_or_default(),
        owner,
        mappings: t
            .mappings
            .iter()
            .filter_map(mapping)
            .map(|m| (m.key(), m))
            .collect(),
        batching: t.ingestion_batching.as_ref().map(|b| batching(b)),
        streaming: t.streaming_ingestion.as_ref().map(|s| s.value),
        retention: t.retention.as_ref().and_then(|r| retention(r)),
        caching: t.caching.as_ref().and_then(|c| caching(c)),
        update_policies: t.update_policies.as_ref().map(|list| {
            let mut entries: Vec<UpdatePolicy> = list
                .iter()
                .map(|p| {
                    UpdatePolicy::new(
                        &p.source,
                        &p.query,
                        p.enabled,
                        p.transactional,
                        p.propagate_ingestion_properties,
                        p.managed_identity.as_ref().map(|m| m.value.as_str()),
                    )
                })
                .collect();
            entries.sort();
            entries
        }),
        principals: principals(&t.principals.roles()),
        declared_roles: listed(&t.principals.listed()),
        renamed_from: t.renamed_from.as_ref().map(|r| r.value.clone()),
        renamed_columns: t
            .columns
            .iter()
            .filter_map(|c| {
                c.renamed_from
                    .as_ref()
                    .map(|old| (c.name.value.clone(), old.value.clone()))
            })
            .collect(),
    }
}

fn mapping(m: &MappingSpec) -> Option<Mapping> {
    let kind = MappingKind::parse(&m.kind)?;
    let columns = m
        .columns
        .iter()
        .map(|c| {
            let mut properties = MappingProperties::new();
            let mut put = |key: &str, value: Option<String>| {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    properties.insert(key.to_string(), v);
                }
            };
            put("Path", c.path.as_ref().map(|p| p.value.clone()));
            put("Ordinal", c.ordinal.as_ref().map(|o| o.value.to_string()));
            put("ConstValue", c.const_value.clone());
            put("Transform", c.transform.as_ref().map(|t| t.value.clone()));
            MappingColumn {
                column: c.column.value.clone(),
                datatype: c.datatype.as_ref().and_then(|d| ColumnType::parse(d)),
                properties,
            }
        })
        .collect();
    Some(Mapping {
        kind,
        name: m.name.value.clone(),
        columns,
    })
}

fn retention(r: &RetentionSpec) -> Option<RetentionPolicy> {
    Some(RetentionPolicy {
        soft_delete: Timespan::parse(&r.soft_delete)?,
        recoverable: r
            .recoverability
            .as_ref()
            .is_none_or(|v| v.value == Recoverability::Enabled),
    })
}

fn caching(c: &CachingSpec) -> Option<CachingPolicy> {
    let mut hot_windows = c
        .hot_windows
        .iter()
        .map(|w| {
            Some(HotWindow {
                from: normalize_instant(&w.from)?,
                to: normalize_instant(&w.to)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    hot_windows.sort();
    Some(CachingPolicy {
        hot: Timespan::parse(&c.hot)?,
        hot_windows,
    })
}

fn batching(b: &BatchingSpec) -> BatchingPolicy {
    let d = BatchingPolicy::DEFAULTS;
    BatchingPolicy {
        max_time: b
            .max_time
            .as_ref()
            .and_then(|t| Timespan::parse(t))
            .unwrap_or(d.max_time),
        max_items: b.max_items.as_ref().map_or(d.max_items, |n| n.value),
        max_raw_size_mb: b
            .max_raw_size_mb
            .as_ref()
            .map_or(d.max_raw_size_mb, |n| n.value),
    }
}

/// The principal a manifest entry names.
pub fn principal_ref(p: &PrincipalSpec) -> Option<PrincipalRef> {
    let (kind, id) = match (&p.app, &p.user, &p.group) {
        (Some(id), None, None) => (PrincipalKind::App, id),
        (None, Some(id), None) => (PrincipalKind::User, id),
        (None, None, Some(id)) => (PrincipalKind::Group, id),
        _ => return None,
    };
    Some(PrincipalRef::new(kind, id, p.tenant.as_deref()))
}

fn principals(
    roles: &[(&'static str, &[super::located::Located<PrincipalSpec>])],
) -> BTreeMap<RoleKey, Option<String>> {
    roles
        .iter()
        .flat_map(|(role, list)| {
            list.iter().filter_map(move |p| {
                principal_ref(p).map(|r| {
                    (
                        RoleKey::new(role, &r),
                        p.notes.clone().filter(|n| !n.is_empty()),
                    )
                })
            })
        })
        .collect()
}

/// The roles a manifest lists, even as `[]`.
fn listed(
    roles: &[(
        &'static str,
        Option<&[super::located::Located<PrincipalSpec>]>,
    )],
) -> BTreeSet<String> {
    roles
        .iter()
        .filter(|(_, list)| list.is_some())
        .map(|(role, _)| (*role).to_string())
        .collect()
}

/// The Kusto engine and ingestion URLs connectors are given (`import` compares live connectors
/// with them).
pub fn kusto_urls(m: &Manifests) -> (String, String) {
    let target = m.stack.as_ref().and_then(|s| s.targets.kusto.as_ref());
    let query = m.kusto_endpoint().kusto_query_url();
    let ingest = target
        .and_then(|k| k.ingest.as_ref())
        .map(|i| i.value.trim_end_matches('/').to_string())
        .unwrap_or_else(|| derive_ingest(&query));
    (query, ingest)
}

/// Azure Data Explorer hosts get their ingestion endpoint by prefixing `ingest-`; any other host
/// (an emulator, a loopback address) is its own ingestion endpoint.
fn derive_ingest(query: &str) -> String {
    const KUSTO_DOMAINS: [&str; 4] = [
        ".kusto.windows.net",
        ".kusto.usgovcloudapi.net",
        ".kusto.chinacloudapi.cn",
        ".kusto.localhost",
    ];
    match query.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', ':']).next().unwrap_or(rest);
            if KUSTO_DOMAINS.iter().any(|d| host.ends_with(d)) {
                format!("{scheme}://ingest-{rest}")
            } else {
                query.to_string()
            }
        }
        None => query.to_string(),
    }
}

/// The connectors the stack declares, by Connect cluster name.
pub fn connect_state(m: &Manifests) -> BTreeMap<String, ConnectCluster> {
    let owner = m.owner_name();
    let (query, ingest) = kusto_urls(m);
    let mut out: BTreeMap<String, ConnectCluster> = BTreeMap::new();
    for sink in &m.sinks {
        let cluster = m.connect_cluster_or_default(sink.connect.as_ref());
        let connector = Connector {
            name: sink.name.value.clone(),
            config: sink_config(sink, m, owner, &query, &ingest),
            state: match sink.state {
                ConnectorState::Running => RunState::Running,
                ConnectorState::Paused => RunState::Paused,
                ConnectorState::Stopped => RunState::Stopped,
            },
            renamed_from: sink.renamed_from.as_ref().map(|r| r.value.clone()),
        };
        out.entry(cluster)
            .or_default()
            .insert(connector.name.clone(), connector);
    }
    out
}

/// The Connect clusters a plan of `m` reads: those its sinks run on and, when the stack prunes,
/// every cluster it targets (one whose last sink was removed is still read, so the connectors
/// the stack owns there are pruned).
pub fn connect_clusters(m: &Manifests) -> BTreeSet<String> {
    let mut clusters: BTreeSet<String> = m
        .sinks
        .iter()
        .map(|sink| m.connect_cluster_or_default(sink.connect.as_ref()))
        .collect();
    if let Some(stack) = m.stack.as_ref().filter(|s| s.safety.prune) {
        clusters.extend(stack.targets.connect.keys().cloned());
    }
    clusters
}

/// The routes of a sink, with databases resolved.
pub fn sink_routes(sink: &SinkDoc, m: &Manifests) -> Vec<Route> {
    sink.routes
        .iter()
        .map(|r| Route {
            topic: r.topic.value.clone(),
            db: m.database_or_default(r.database.as_ref()),
            table: r.table.value.clone(),
            format: r.format.value.to_lowercase(),
            mapping: r.mapping.as_ref().map(|m| m.value.clone()),
            streaming: r.streaming.value,
        })
        .collect()
}

/// The full connector config of a sink: every key kustoplan derives, converters with
/// `schemas.enable` always explicit, credentials by reference only, and the ownership marker.
fn sink_config(
    sink: &SinkDoc,
    m: &Manifests,
    owner: &str,
    query: &str,
    ingest: &str,
) -> BTreeMap<String, String> {
    let errors = &sink.errors;
    SinkSettings {
        tasks_max: sink.tasks_max.value,
        routes: sink_routes(sink, m),
        query_url: Some(query.to_string()),
        ingest_url: Some(ingest.to_string()),
        auth: SinkAuthSettings {
            strategy: *sink.auth.strategy,
            app_id: sink.auth.app_id.as_ref().map(|a| a.value.clone()),
            authority: sink.auth.tenant_id.as_ref().map(|t| t.value.clone()),
            app_key: sink.auth.app_key.as_ref().map(|key| match &key.value {
                SecretRef::Env { env } => format!("${{env:{env}}}"),
                SecretRef::Text(placeholder) => placeholder.clone(),
            }),
        },
        errors: ErrorSettings {
            behavior: errors.behavior,
            tolerance: errors.tolerance,
            dead_letter_queue: errors
                .dead_letter_queue
                .as_ref()
                .map(|dlq| DeadLetterSettings {
                    topic: dlq.topic.value.clone(),
                    replication_factor: dlq.replication_factor,
                    context_headers: dlq.context_headers,
                }),
            retry_max_time_ms: errors.retry_max_time_ms,
            retry_backoff_ms: errors.retry_backoff_ms,
        },
        flush: FlushSettings {
            size_bytes: sink.flush.size_bytes.as_ref().map(|n| n.value),
            interval_ms: sink.flush.interval_ms.as_ref().map(|n| n.value),
        },
        key_converter: converter(&sink.converters.key),
        value_converter: converter(&sink.converters.value),
        extra: sink
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.value.0.clone()))
            .collect(),
    }
    .to_config(owner)
}

fn converter(conv: &Converter) -> ConverterSettings {
    ConverterSettings {
        class: converter_class(&conv.class).to_string(),
        schemas_enable: conv.schemas_enable,
        properties: conv
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.value.0.clone()))
            .collect(),
    }
}

/// The topics the stack declares, by name.
pub fn kafka_topics(m: &Manifests) -> BTreeMap<String, Topic> {
    m.topics
        .iter()
        .map(|t| {
            (
                t.name.value.clone(),
                Topic {
                    name: t.name.value.clone(),
                    partitions: t.partitions.value,
                    replication_factor: t.replication_factor.as_ref().map(|r| r.value),
                    configs: t
                        .config
                        .iter()
                        .map(|(k, v)| (k.clone(), v.value.0.clone()))
                        .collect(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load};

    #[test]
    fn taking_the_tables_builds_the_same_state_and_leaves_no_table_documents() {
        let mut m = load(&["examples/gameplay".into()], &LoadOptions::default()).unwrap();
        let built = kusto_state(&m);
        assert!(!built.databases["gamedb"].tables.is_empty());
        let taken = kusto_state_taking_tables(&mut m);
        assert_eq!(taken, built);
        assert!(m.tables.is_empty());
        // What the session derives after it still comes from the other documents.
        assert!(!connect_state(&m).is_empty());
    }

    #[test]
    fn gameplay_becomes_the_walkthrough_state() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).unwrap();
        let state = kusto_state(&m);
        let db = &state.databases["gamedb"];
        let t = &db.tables["GamePlay"];
        let cols: Vec<(&str, &str)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.as_kql()))
            .collect();
        assert_eq!(
            cols,
            vec![
                ("PlayerID", "int"),
                ("GameID", "int"),
                ("Win", "long"),
                ("Score", "int"),
                ("EventTime", "datetime")
            ]
        );
        assert_eq!(t.owner.as_deref(), Some("gameplay"));
        assert_eq!(
            t.batching,
            Some(BatchingPolicy {
                max_time: Timespan::from_secs(10),
                max_items: 5,
                max_raw_size_mb: 100
            })
        );
        let mapping = &t.mappings["json:gameplay_json_mapping"];
        assert_eq!(mapping.columns[0].properties["Path"], *"$.playerId");
        assert_eq!(mapping.columns[4].datatype, Some(ColumnType::DateTime));
        let admins: Vec<(&RoleKey, &Option<String>)> = db.principals.iter().collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0].0.role, "admins");
        assert_eq!(
            admins[0].0.fqn,
            "aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2"
        );
        assert_eq!(admins[0].1.as_deref(), Some("AAD App"));
    }

    #[test]
    fn gameplay_sink_becomes_the_walkthrough_connector_config() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).unwrap();
        let connect = connect_state(&m);
        let connector = &connect["main"]["gameplay-kusto-sink"];
        assert_eq!(connector.state, RunState::Running);
        let expected: BTreeMap<String, String> = [
            ("aad.auth.appid", "00000000-0000-0000-0000-00000000a11d"),
            ("aad.auth.appkey", "${file:/opt/kafka/secrets/kusto.properties:appkey}"),
            ("aad.auth.authority", "00000000-0000-0000-0000-0000000007e2"),
            ("aad.auth.strategy", "application"),
            ("behavior.on.error", "fail"),
            ("connector.class", "com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector"),
            ("errors.tolerance", "none"),
            ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("key.converter.schemas.enable", "false"),
            ("kusto.ingestion.url", "https://ingest-sandbox.kusto.localhost"),
            ("kusto.query.url", "https://sandbox.kusto.localhost"),
            (
                "kusto.tables.topics.mapping",
                r#"[{"topic":"gameplay","db":"gamedb","table":"GamePlay","format":"json","mapping":"gameplay_json_mapping","streaming":false}]"#,
            ),
            ("kustoplan.stack", "gameplay"),
            ("tasks.max", "1"),
            ("topics", "gameplay"),
            ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("value.converter.schemas.enable", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(connector.config, expected);
        let topics = kafka_topics(&m);
        assert_eq!(topics["gameplay"].partitions, 4);
    }

    #[test]
    fn prod_urls_derive_the_ingest_endpoint() {
        let options = LoadOptions {
            environment: Some("prod".into()),
            vars: Vec::new(),
        };
        let m = load(&["examples/gameplay".into()], &options).unwrap();
        let c = &connect_state(&m)["main"]["gameplay-kusto-sink"].config;
        assert_eq!(
            c["kusto.query.url"],
            "https://gameplay.westeurope.kusto.windows.net"
        );
        assert_eq!(
            c["kusto.ingestion.url"],
            "https://ingest-gameplay.westeurope.kusto.windows.net"
        );
        assert_eq!(
            derive_ingest("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            derive_ingest("https://c.kusto.usgovcloudapi.net/"),
            "https://ingest-c.kusto.usgovcloudapi.net/"
        );
        let t = load(&["examples/telemetry".into()], &LoadOptions::default()).unwrap();
        let live = &connect_state(&t)["ingest"]["telemetry-live"].config;
        assert_eq!(live["errors.deadletterqueue.topic.name"], "telemetry.dlq");
        assert_eq!(
            live["key.converter"],
            "org.apache.kafka.connect.storage.StringConverter"
        );
        assert!(!live.contains_key("aad.auth.appkey"));
        assert_eq!(
            connect_state(&t)["bulk"]["telemetry-bulk"].state,
            RunState::Paused
        );
    }
}

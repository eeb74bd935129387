//! The Kafka Connect diff: declared connectors vs the live ones, per Connect cluster. Pure.
//!
//! A config change restarts the connector's tasks (the sink rebalances and can deliver records
//! twice), so it is `restart`; removing a route stops ingestion from that topic and deleting a
//! connector stops all of it, so both are `data-loss`. A route re-pointed at the new name of a
//! table the same plan renames is not removed: its topic goes on into the same table.
//! Connectors that are not declared are left alone unless they carry this stack's marker and
//! pruning is on.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::Address;
use super::{Action, Change, ImpactClass, Operation, Phase, Side, Target};
use crate::model::connect::{
    ConfigDiff, ConnectCluster, Connector, OWNER_KEY, RunState, config_differences, shown,
};
use crate::model::sink::{Route, routes_in};
use crate::plan::kusto::RenamedTable;
use crate::text::plural;

/// Every change that takes the live connectors to the declared ones.
pub fn diff(
    desired: &BTreeMap<String, ConnectCluster>,
    observed: &BTreeMap<String, ConnectCluster>,
    owner: Option<&str>,
    prune: bool,
) -> Vec<Change> {
    diff_after_renames(desired, observed, owner, prune, &[])
}

/// [`diff`] in a plan that also renames Kusto tables (applied before any connector change): a
/// live route into a renamed table that the declared config points at the new name is
/// re-pointed, not removed, since ingestion from its topic goes on into the same table.
pub fn diff_after_renames(
    desired: &BTreeMap<String, ConnectCluster>,
    observed: &BTreeMap<String, ConnectCluster>,
    owner: Option<&str>,
    prune: bool,
    renamed: &[RenamedTable],
) -> Vec<Change> {
    let empty = ConnectCluster::new();
    let mut out = Vec::new();
    for (cluster, want) in desired {
        let have = observed.get(cluster).unwrap_or(&empty);
        let mut moving = Vec::new();
        for (name, connector) in want {
            let old = connector
                .renamed_from
                .as_ref()
                .and_then(|old| have.get(old).map(|live| (old, live)));
            match (have.get(name), old) {
                (None, Some((old, live))) => {
                    moving.push(old);
                    out.push(rename(cluster, connector, live, None, renamed));
                }
                (Some(new), Some((old, live))) if new.state == RunState::Stopped => {
                    moving.push(old);
                    out.push(rename(cluster, connector, live, Some(new), renamed));
                }
                (None, None) => out.extend(create(cluster, connector)),
                (Some(live), _) => out.extend(update(cluster, connector, live, renamed)),
            }
        }
        for (name, live) in have {
            let ours = owner.is_some() && live.owner() == owner;
            if !want.contains_key(name) && !moving.contains(&name) && ours && prune {
                out.push(change(
                    cluster,
                    Address::connector(cluster, name),
                    Action::Delete,
                    ImpactClass::DataLoss,
                    format!("delete connector {name} (owned by this stack, no longer declared): its routes stop"),
                    Some(config_side(&live.config)),
                    None,
                    vec![Operation::DeleteConnector { name: name.clone() }],
                    Phase::ConnectorRemovals,
                ));
            }
        }
    }
    out.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
    out
}

#[allow(clippy::too_many_arguments)]
fn change(
    cluster: &str,
    address: Address,
    action: Action,
    impact: ImpactClass,
    summary: String,
    before: Option<Side>,
    after: Option<Side>,
    operations: Vec<Operation>,
    phase: Phase,
) -> Change {
    let (before, before_state) = Side::split(before);
    let (after, after_state) = Side::split(after);
    Change {
        address,
        action,
        impact,
        summary,
        before,
        after,
        before_state,
        after_state,
        target: Target::Connect {
            cluster: cluster.to_string(),
        },
        kusto_commands: Vec::new(),
        operations,
        phase,
        previous_address: None,
    }
}

/// The request an operation sends, as plans show it.
pub fn describe(op: &Operation) -> String {
    match op {
        Operation::PutConnectorConfig { name, .. } => {
            format!(
                "PUT /connector-plugins/KustoSinkConnector/config/validate, then PUT /connectors/{name}/config"
            )
        }
        Operation::CreateConnector {
            name,
            initial_state,
            ..
        } => format!(
            "PUT /connector-plugins/KustoSinkConnector/config/validate, then POST /connectors {name} (initial_state {})",
            state_name(*initial_state).to_ascii_uppercase()
        ),
        Operation::PauseConnector { name } => format!("PUT /connectors/{name}/pause"),
        Operation::ResumeConnector { name } => format!("PUT /connectors/{name}/resume"),
        Operation::StopConnector { name } => format!("PUT /connectors/{name}/stop"),
        Operation::DeleteConnector { name } => format!("DELETE /connectors/{name}"),
        Operation::CopyConnectorOffsets { from, to } => format!(
            "wait for {from} to stop, GET /connectors/{from}/offsets, then PATCH /connectors/{to}/offsets"
        ),
        Operation::CreateTopic { topic } => format!(
            "CreateTopics {} (partitions {}, replication factor {})",
            topic.name,
            topic.partitions,
            topic
                .replication_factor
                .map_or_else(|| "broker default".to_string(), |r| r.to_string())
        ),
        Operation::CreatePartitions { topic, total } => {
            format!("CreatePartitions {topic} to {total}")
        }
        Operation::AlterTopicConfigs { topic, configs } => {
            let parts: Vec<String> = configs
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("set {k}={v}"),
                    None => format!("delete {k}"),
                })
                .collect();
            format!("IncrementalAlterConfigs {topic}: {}", parts.join(", "))
        }
    }
}

/// The config as plans show it: one `key = value` line each, secrets masked.
fn config_text(config: &BTreeMap<String, String>) -> String {
    config
        .iter()
        .map(|(k, v)| format!("{k} = {}\n", shown(k, v)))
        .collect()
}

/// The config as JSON: an object of key -> value, secrets masked by the same rule as
/// [`config_text`] ([`shown`]), so a secret the text hides never reaches a JSON plan either.
fn config_state(config: &BTreeMap<String, String>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(shown(k, v))))
        .collect()
}

/// A whole connector config as plans show it, in text and JSON.
fn config_side(config: &BTreeMap<String, String>) -> Side {
    Side::new(config_text(config), Value::Object(config_state(config)))
}

/// A connector config under one of its names, as a rename shows it: `name` first, then the
/// config (the name wins over a `name` key the config holds).
fn named_config_side(name: &str, config: &BTreeMap<String, String>) -> Side {
    let mut state = Map::new();
    state.insert("name".to_string(), Value::String(name.to_string()));
    for (k, v) in config_state(config) {
        state.entry(k).or_insert(v);
    }
    Side::new(
        format!("name = {name}\n{}", config_text(config)),
        Value::Object(state),
    )
}

/// The keys an update changes, live and declared: `key = value` lines (`(unset)` where a side
/// lacks the key) and objects of key -> value (`null` there). [`ConfigDiff`] values are
/// masked already.
fn diff_sides(diffs: &[ConfigDiff]) -> (Side, Side) {
    let side = |value: fn(&ConfigDiff) -> &Option<String>| {
        let text = diffs
            .iter()
            .map(|d| {
                let shown = value(d).as_deref().unwrap_or("(unset)");
                format!("{} = {shown}\n", d.key)
            })
            .collect();
        let state = diffs
            .iter()
            .map(|d| {
                (
                    d.key.clone(),
                    value(d).clone().map_or(Value::Null, Value::String),
                )
            })
            .collect();
        Side::new(text, Value::Object(state))
    };
    (side(|d| &d.before), side(|d| &d.after))
}

/// A connector's run state as plans show it (`paused`; `{"state": "paused"}`).
fn run_state_side(state: RunState) -> Side {
    let name = state_name(state);
    Side::new(name.to_string(), serde_json::json!({ "state": name }))
}

fn state_op(name: &str, from: Option<RunState>, to: RunState) -> Option<Operation> {
    let name = name.to_string();
    match (from, to) {
        (Some(a), b) if a == b => None,
        (None, RunState::Running) => None,
        (_, RunState::Paused) => Some(Operation::PauseConnector { name }),
        (_, RunState::Stopped) => Some(Operation::StopConnector { name }),
        (_, RunState::Running) => Some(Operation::ResumeConnector { name }),
    }
}

fn state_name(s: RunState) -> &'static str {
    match s {
        RunState::Running => "running",
        RunState::Paused => "paused",
        RunState::Stopped => "stopped",
    }
}

fn create(cluster: &str, c: &Connector) -> Vec<Change> {
    let ops = vec![if c.state == RunState::Running {
        Operation::PutConnectorConfig {
            name: c.name.clone(),
            config: c.config.clone(),
        }
    } else {
        Operation::CreateConnector {
            name: c.name.clone(),
            config: c.config.clone(),
            initial_state: c.state,
        }
    }];
    let routes = routes_in(&c.config).map_or(0, |r| r.len());
    vec![change(
        cluster,
        Address::connector(cluster, &c.name),
        Action::Create,
        ImpactClass::Safe,
        format!(
            "create Kusto sink connector {} with {routes} route{}{}{}",
            c.name,
            plural(routes, "", "s"),
            if c.state == RunState::Running {
                String::new()
            } else {
                format!(", {}", state_name(c.state))
            },
            c.renamed_from
                .as_ref()
                .map_or_else(String::new, |old| format!(
                    " (renamed from {old}, which does not exist here: no offsets to carry over)"
                ))
        ),
        None,
        Some(config_side(&c.config)),
        ops,
        Phase::Connectors,
    )]
}

/// Moves the live connector `old` to the declared name: stop it, create the new one stopped
/// (or, when an interrupted move already created it, update it while it stays stopped), copy
/// the consumer offsets, bring the new one to its declared state, delete the old one. Its
/// topics are consumed on from the old connector's offsets, so nothing is ingested twice; the
/// tasks restart, and routes the new config drops stop (`data-loss`).
fn rename(
    cluster: &str,
    want: &Connector,
    old: &Connector,
    created: Option<&Connector>,
    renamed: &[RenamedTable],
) -> Change {
    let mut ops = vec![Operation::StopConnector {
        name: old.name.clone(),
    }];
    match created {
        None => ops.push(Operation::CreateConnector {
            name: want.name.clone(),
            config: want.config.clone(),
            initial_state: RunState::Stopped,
        }),
        Some(created) if !config_differences(&want.config, &created.config).is_empty() => {
            ops.push(Operation::PutConnectorConfig {
                name: want.name.clone(),
                config: want.config.clone(),
            });
        }
        Some(_) => {}
    }
    ops.push(Operation::CopyConnectorOffsets {
        from: old.name.clone(),
        to: want.name.clone(),
    });
    ops.extend(state_op(&want.name, Some(RunState::Stopped), want.state));
    ops.push(Operation::DeleteConnector {
        name: old.name.clone(),
    });
    let (removed, _) = route_changes(want, old, renamed);
    let (impact, consequence) = if removed.is_empty() {
        (
            ImpactClass::Restart,
            "its tasks restart; nothing is ingested twice".to_string(),
        )
    } else {
        (
            ImpactClass::DataLoss,
            format!(
                "route{} {} {} not carried over: ingestion from {} stops",
                plural(removed.len(), "", "s"),
                removed.join(", "),
                plural(removed.len(), "is", "are"),
                if removed.len() == 1 {
                    "that topic"
                } else {
                    "those topics"
                }
            ),
        )
    };
    let moved = change(
        cluster,
        Address::connector(cluster, &want.name),
        Action::Update,
        impact,
        format!(
            "{} connector {} to {}, carrying its consumer offsets over ({consequence})",
            if created.is_some() {
                "finish renaming"
            } else {
                "rename"
            },
            old.name,
            want.name
        ),
        Some(named_config_side(&old.name, &old.config)),
        Some(named_config_side(&want.name, &want.config)),
        ops,
        Phase::Connectors,
    );
    Change {
        previous_address: Some(Address::connector(cluster, &old.name)),
        ..moved
    }
}

fn update(
    cluster: &str,
    want: &Connector,
    live: &Connector,
    renamed: &[RenamedTable],
) -> Vec<Change> {
    let mut out = Vec::new();
    // A connector with no ownership marker at all is adopted as is: writing the marker alone
    // would restart its tasks for nothing. It is written with the next config change; until
    // then the connector is never pruned.
    let diffs: Vec<_> = config_differences(&want.config, &live.config)
        .into_iter()
        .filter(|d| !(d.key == OWNER_KEY && d.before.is_none()))
        .collect();
    if !diffs.is_empty() {
        let (removed, repointed) = route_changes(want, live, renamed);
        let keys: Vec<&str> = diffs.iter().map(|d| d.key.as_str()).collect();
        let (impact, summary) = if removed.is_empty() {
            (
                ImpactClass::Restart,
                format!(
                    "update {} ({}){}; tasks restart and may deliver records twice",
                    keys.join(", "),
                    want.name,
                    if repointed.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ": route{} {} follow{} the rename of {} table",
                            plural(repointed.len(), "", "s"),
                            repointed.join(", "),
                            plural(repointed.len(), "s", ""),
                            plural(repointed.len(), "its", "their"),
                        )
                    }
                ),
            )
        } else {
            (
                ImpactClass::DataLoss,
                format!(
                    "remove route{} {} from {}: ingestion from {} stops",
                    plural(removed.len(), "", "s"),
                    removed.join(", "),
                    want.name,
                    if removed.len() == 1 {
                        "that topic"
                    } else {
                        "those topics"
                    }
                ),
            )
        };
        let (before, after) = diff_sides(&diffs);
        out.push(change(
            cluster,
            Address::connector(cluster, &want.name),
            Action::Update,
            impact,
            summary,
            Some(before),
            Some(after),
            vec![Operation::PutConnectorConfig {
                name: want.name.clone(),
                config: want.config.clone(),
            }],
            Phase::Connectors,
        ));
    }
    if let Some(op) = state_op(&want.name, Some(live.state), want.state) {
        out.push(change(
            cluster,
            Address::connector(cluster, &want.name).connector_state(),
            Action::Update,
            ImpactClass::Restart,
            format!(
                "{} connector {} (was {})",
                match want.state {
                    RunState::Running => "resume",
                    RunState::Paused => "pause",
                    RunState::Stopped => "stop",
                },
                want.name,
                state_name(live.state)
            ),
            Some(run_state_side(live.state)),
            Some(run_state_side(want.state)),
            vec![op],
            Phase::ConnectorStates,
        ));
    }
    out
}

/// `topic -> db.table` of live routes the declared config no longer has, and of those it
/// re-points at the new name of their renamed table (`topic -> db.OLD => NEW`).
fn route_changes(
    want: &Connector,
    live: &Connector,
    renamed: &[RenamedTable],
) -> (Vec<String>, Vec<String>) {
    let routes = |c: &Connector| routes_in(&c.config).unwrap_or_default();
    let wanted_routes = routes(want);
    // `(topic, db, table)` of the declared routes, and the new names of renamed tables by
    // `(db, old name)`: looked up per live route, never scanned (connectors of thousands of
    // routes).
    let wanted: HashSet<(&str, &str, &str)> = wanted_routes
        .iter()
        .map(|w: &Route| (w.topic.as_str(), w.db.as_str(), w.table.as_str()))
        .collect();
    let mut new_names: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for t in renamed {
        new_names
            .entry((t.database.as_str(), t.from.as_str()))
            .or_default()
            .push(t.to.as_str());
    }
    let mut removed = Vec::new();
    let mut repointed = Vec::new();
    for r in routes(live) {
        let declared = |table: &str| wanted.contains(&(r.topic.as_str(), r.db.as_str(), table));
        if declared(&r.table) {
            continue;
        }
        let text = format!("{} -> {}.{}", r.topic, r.db, r.table);
        let to = new_names
            .get(&(r.db.as_str(), r.table.as_str()))
            .and_then(|names| names.iter().find(|to| declared(to)));
        match to {
            Some(to) => repointed.push(format!("{text} => {to}")),
            None => removed.push(text),
        }
    }
    (removed, repointed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, desired, load};

    fn gameplay() -> BTreeMap<String, ConnectCluster> {
        desired::connect_state(
            &load(&["examples/gameplay".into()], &LoadOptions::default()).expect("loads"),
        )
    }

    fn summary(changes: &[Change]) -> Vec<(String, Action, ImpactClass)> {
        changes
            .iter()
            .map(|c| (c.address.to_string(), c.action, c.impact))
            .collect()
    }

    #[test]
    fn create_then_no_drift_against_connects_own_keys_and_spelling() {
        let want = gameplay();
        let changes = diff(&want, &BTreeMap::new(), Some("gameplay"), false);
        assert_eq!(
            summary(&changes),
            vec![(
                "connect.main.connector.gameplay-kusto-sink".into(),
                Action::Create,
                ImpactClass::Safe
            )]
        );
        assert_eq!(changes[0].command_texts(), vec!["PUT /connector-plugins/KustoSinkConnector/config/validate, then PUT /connectors/gameplay-kusto-sink/config".to_string()]);
        let mut live = want.clone();
        let c = live
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("connector");
        c.config.insert("name".into(), "gameplay-kusto-sink".into());
        c.config.insert(
            "kusto.tables.topics.mapping".into(),
            "[{'topic': 'gameplay', 'db': 'gamedb', 'table': 'GamePlay', 'format': 'JSON', 'mapping': 'gameplay_json_mapping'}]".into(),
        );
        assert_eq!(diff(&want, &live, Some("gameplay"), false), vec![]);
    }

    #[test]
    fn a_connector_without_any_marker_is_adopted_without_a_restart_and_never_pruned() {
        let want = gameplay();
        let mut live = want.clone();
        let c = live
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("connector");
        c.config.remove(OWNER_KEY);
        assert_eq!(diff(&want, &live, Some("gameplay"), false), vec![]);
        if let Some(c) = live
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
        {
            c.config.insert(OWNER_KEY.into(), "another-stack".into());
        }
        assert_eq!(
            diff(&want, &live, Some("gameplay"), false)[0]
                .before
                .as_deref(),
            Some("kustoplan.stack = another-stack\n"),
            "taking over another stack's connector is a change"
        );
        if let Some(c) = live
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
        {
            c.config.remove(OWNER_KEY);
            c.config.insert("flush.interval.ms".into(), "5000".into());
        }
        let changes = diff(&want, &live, Some("gameplay"), false);
        assert!(
            matches!(&changes[0].operations[0], Operation::PutConnectorConfig { config, .. } if config[OWNER_KEY] == "gameplay"),
            "the marker comes with the next config change"
        );
        let nothing_declared = BTreeMap::from([("main".to_string(), ConnectCluster::new())]);
        assert_eq!(
            diff(&nothing_declared, &live, Some("gameplay"), true),
            vec![]
        );
    }

    #[test]
    fn config_changes_restart_route_removals_lose_data_states_use_their_endpoints() {
        let want = gameplay();
        let mut live = want.clone();
        let c = live
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("connector");
        c.config.insert("flush.interval.ms".into(), "5000".into());
        c.config
            .insert("aad.auth.appkey".into(), "literal-leaked-key".into());
        c.state = RunState::Paused;
        let changes = diff(&want, &live, Some("gameplay"), false);
        assert_eq!(
            summary(&changes),
            vec![
                (
                    "connect.main.connector.gameplay-kusto-sink".into(),
                    Action::Update,
                    ImpactClass::Restart
                ),
                (
                    "connect.main.connector.gameplay-kusto-sink.state".into(),
                    Action::Update,
                    ImpactClass::Restart
                ),
            ]
        );
        let before = changes[0].before.clone().unwrap_or_default();
        assert_eq!(before, "aad.auth.appkey = ****\nflush.interval.ms = 5000\n");
        assert!(!format!("{changes:?}").contains("literal-leaked-key"));
        assert_eq!(
            changes[1].command_texts(),
            vec!["PUT /connectors/gameplay-kusto-sink/resume".to_string()]
        );

        let mut two_routes = want.clone();
        let c = two_routes
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("connector");
        c.config.insert(
            "kusto.tables.topics.mapping".into(),
            r#"[{"topic":"gameplay","db":"gamedb","table":"GamePlay","format":"json","mapping":"gameplay_json_mapping"},{"topic":"old","db":"gamedb","table":"Old","format":"json"}]"#.into(),
        );
        c.config.insert("topics".into(), "gameplay,old".into());
        let changes = diff(&want, &two_routes, Some("gameplay"), false);
        assert_eq!(
            summary(&changes),
            vec![(
                "connect.main.connector.gameplay-kusto-sink".into(),
                Action::Update,
                ImpactClass::DataLoss
            )]
        );
        assert_eq!(
            changes[0].summary,
            "remove route old -> gamedb.Old from gameplay-kusto-sink: ingestion from that topic stops"
        );
    }

    /// Connector changes carry their sides as JSON objects of key -> value, masked by the
    /// same rule as the text: a whole config when created, deleted or renamed (with `name`),
    /// the keys an update changes (null where unset), and the run state.
    #[test]
    fn connector_changes_carry_their_states_as_json_with_secrets_masked() {
        let mut want = gameplay();
        let sink = want
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("connector");
        sink.config.insert(
            "value.converter.basic.auth.user.info".into(),
            "bob:declared-literal".into(),
        );
        let keys = sink.config.len();
        let created = diff(&want, &BTreeMap::new(), Some("gameplay"), false);
        let after = created[0].after_state.clone().expect("after_state");
        assert_eq!(created[0].before_state, None);
        assert_eq!(after["value.converter.basic.auth.user.info"], "****");
        assert_eq!(
            after["aad.auth.appkey"], "${file:/opt/kafka/secrets/kusto.properties:appkey}",
            "a placeholder names the secret without holding it"
        );
        assert_eq!(after["topics"], "gameplay");
        assert_eq!(after["kustoplan.stack"], "gameplay");
        assert_eq!(after.as_object().map(|o| o.len()), Some(keys), "every key");

        let mut live = want.clone();
        let c = live
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("connector");
        c.config.insert("flush.interval.ms".into(), "5000".into());
        c.config
            .insert("aad.auth.appkey".into(), "literal-leaked-key".into());
        c.config.insert("tasks.max".into(), "4".into());
        c.state = RunState::Paused;
        let changes = diff(&want, &live, Some("gameplay"), false);
        assert_eq!(
            changes[0].before_state,
            Some(serde_json::json!({
                "aad.auth.appkey": "****",
                "flush.interval.ms": "5000",
                "tasks.max": "4"
            }))
        );
        assert_eq!(
            changes[0].after_state,
            Some(serde_json::json!({
                "aad.auth.appkey": "${file:/opt/kafka/secrets/kusto.properties:appkey}",
                "flush.interval.ms": null,
                "tasks.max": "1"
            }))
        );
        assert_eq!(
            (
                changes[1].before_state.clone(),
                changes[1].after_state.clone()
            ),
            (
                Some(serde_json::json!({"state": "paused"})),
                Some(serde_json::json!({"state": "running"}))
            )
        );
        let shown = serde_json::to_string(&changes).expect("serialize");
        assert!(!shown.contains("literal-leaked-key"), "{shown}");

        let nothing_declared = BTreeMap::from([("main".to_string(), ConnectCluster::new())]);
        let deleted = diff(&nothing_declared, &live, Some("gameplay"), true);
        let before = deleted[0].before_state.clone().expect("before_state");
        assert_eq!(before["aad.auth.appkey"], "****");
        assert_eq!(before["value.converter.basic.auth.user.info"], "****");
        assert_eq!(deleted[0].after_state, None);

        let mut renamed = gameplay();
        let main = renamed.get_mut("main").expect("main");
        let mut moved = main.remove("gameplay-kusto-sink").expect("sink");
        moved.name = "gameplay-sink-v2".into();
        moved.renamed_from = Some("gameplay-kusto-sink".into());
        main.insert(moved.name.clone(), moved);
        let changes = diff(&renamed, &gameplay(), Some("gameplay"), false);
        let names: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.before_state.as_ref().map(|s| s["name"].clone()),
                    c.after_state.as_ref().map(|s| s["name"].clone()),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![(
                Some(serde_json::json!("gameplay-kusto-sink")),
                Some(serde_json::json!("gameplay-sink-v2"))
            )]
        );
    }

    /// A declared sink renamed from a live connector moves it with its offsets, in an order
    /// that never lets both consume and never creates the new one running before its offsets
    /// are set; the old connector is not pruned separately. An interrupted move (new one
    /// created, still stopped) is finished; with no old connector it is a plain create.
    #[test]
    fn a_renamed_sink_moves_the_live_connector_with_its_offsets() {
        let live = gameplay();
        let mut want = gameplay();
        let main = want.get_mut("main").expect("main");
        let mut renamed = main.remove("gameplay-kusto-sink").expect("sink");
        renamed.name = "gameplay-sink-v2".into();
        renamed.renamed_from = Some("gameplay-kusto-sink".into());
        main.insert(renamed.name.clone(), renamed.clone());

        let changes = diff(&want, &live, Some("gameplay"), true);
        assert_eq!(
            summary(&changes),
            vec![(
                "connect.main.connector.gameplay-sink-v2".into(),
                Action::Update,
                ImpactClass::Restart
            )],
            "one move, and no separate prune of the old connector"
        );
        let old = "gameplay-kusto-sink".to_string();
        let new = "gameplay-sink-v2".to_string();
        assert_eq!(
            changes[0].operations,
            vec![
                Operation::StopConnector { name: old.clone() },
                Operation::CreateConnector {
                    name: new.clone(),
                    config: renamed.config.clone(),
                    initial_state: RunState::Stopped
                },
                Operation::CopyConnectorOffsets {
                    from: old.clone(),
                    to: new.clone()
                },
                Operation::ResumeConnector { name: new.clone() },
                Operation::DeleteConnector { name: old.clone() },
            ]
        );
        assert_eq!(
            changes[0].summary,
            "rename connector gameplay-kusto-sink to gameplay-sink-v2, carrying its consumer offsets over (its tasks restart; nothing is ingested twice)"
        );
        assert_eq!(
            changes[0].previous_address.as_ref().map(Address::as_str),
            Some("connect.main.connector.gameplay-kusto-sink")
        );

        // Interrupted after the create: both exist, the new one stopped.
        let mut half = live.clone();
        let mut created = renamed.clone();
        created.renamed_from = None;
        created.state = RunState::Stopped;
        half.get_mut("main")
            .expect("main")
            .insert(new.clone(), created);
        let changes = diff(&want, &half, Some("gameplay"), true);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(changes[0].summary.starts_with("finish renaming"));
        assert_eq!(
            changes[0].operations,
            vec![
                Operation::StopConnector { name: old.clone() },
                Operation::CopyConnectorOffsets {
                    from: old.clone(),
                    to: new.clone()
                },
                Operation::ResumeConnector { name: new.clone() },
                Operation::DeleteConnector { name: old.clone() },
            ]
        );

        // Done: the old one is gone and the new one runs.
        let mut done = BTreeMap::new();
        done.insert("main".to_string(), {
            let mut c = ConnectCluster::new();
            let mut running = renamed.clone();
            running.renamed_from = None;
            c.insert(new.clone(), running);
            c
        });
        assert_eq!(diff(&want, &done, Some("gameplay"), true), vec![]);

        // Nothing to move: a create that says so.
        let changes = diff(&want, &BTreeMap::new(), Some("gameplay"), true);
        assert_eq!(changes[0].action, Action::Create);
        assert!(
            changes[0]
                .summary
                .ends_with("(renamed from gameplay-kusto-sink, which does not exist here: no offsets to carry over)"),
            "{}",
            changes[0].summary
        );

        // A declared stopped sink stays stopped after the move; a dropped route loses data.
        let main = want.get_mut("main").expect("main");
        let sink = main.get_mut(&new).expect("sink");
        sink.state = RunState::Stopped;
        sink.config
            .insert("kusto.tables.topics.mapping".into(), "[]".into());
        let changes = diff(&want, &live, Some("gameplay"), true);
        assert_eq!(changes[0].impact, ImpactClass::DataLoss);
        assert!(
            !changes[0]
                .operations
                .iter()
                .any(|op| matches!(op, Operation::ResumeConnector { .. })),
            "{:?}",
            changes[0].operations
        );
    }

    #[test]
    fn only_owned_connectors_are_pruned() {
        let want = gameplay();
        let mut live = want.clone();
        let main = live.get_mut("main").expect("cluster");
        let mut ours = main["gameplay-kusto-sink"].clone();
        ours.name = "old-sink".into();
        main.insert("old-sink".into(), ours);
        let mut theirs = main["gameplay-kusto-sink"].clone();
        theirs.name = "their-sink".into();
        theirs.config.remove("kustoplan.stack");
        main.insert("their-sink".into(), theirs);
        assert_eq!(diff(&want, &live, Some("gameplay"), false), vec![]);
        let changes = diff(&want, &live, Some("gameplay"), true);
        assert_eq!(
            summary(&changes),
            vec![(
                "connect.main.connector.old-sink".into(),
                Action::Delete,
                ImpactClass::DataLoss
            )]
        );
        assert_eq!(
            changes[0].command_texts(),
            vec!["DELETE /connectors/old-sink".to_string()]
        );
    }
}

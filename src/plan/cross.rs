//! Cross-system checks at plan time: each route must find, in the state the plan leaves behind,
//! everything the sink connector needs, or ingestion fails at run time where nobody looks
//! (the sink reports most Kusto-side failures only in `.show ingestion failures`).
//!
//! The state after apply is judged, not the state before: a declared object is there as declared,
//! and a live one that is not declared stays only if the plan does not remove it. A plan that
//! revokes the sink's role or drops a table or mapping a route uses is refused before anything is
//! applied.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::connect::{ConnectCluster, Topic};
use crate::model::kusto::{KustoState, Mapping};
use crate::model::sink::{key, routes_in};
use crate::model::{DataFormat, PrincipalKind, PrincipalRef};
use crate::plan::Address;

/// One unmet requirement of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteProblem {
    /// `connect.CLUSTER.connector.NAME`.
    pub connector: Address,
    /// `topic -> db.table`.
    pub route: String,
    /// What is missing and what to do.
    pub message: String,
}

/// Everything a check looks at: declared and live state of all three systems.
pub struct World<'a> {
    /// Declared Kusto state.
    pub kusto_desired: &'a KustoState,
    /// Live Kusto state.
    pub kusto_observed: &'a KustoState,
    /// Declared connectors by Connect cluster.
    pub connectors: &'a BTreeMap<String, ConnectCluster>,
    /// Declared topics.
    pub topics_desired: &'a BTreeMap<String, Topic>,
    /// Live topics.
    pub topics_observed: &'a BTreeMap<String, Topic>,
    /// Addresses of the objects the plan deletes.
    pub removed: &'a BTreeSet<Address>,
}

/// Every problem of every route of every declared connector.
pub fn check(w: &World<'_>) -> Vec<RouteProblem> {
    let mut out = Vec::new();
    for (cluster, connectors) in w.connectors {
        for c in connectors.values() {
            let Some(routes) = routes_in(&c.config) else {
                continue;
            };
            let app = c.config.get(key::APP_ID).map(|a| a.to_ascii_lowercase());
            for r in routes {
                let mut problem = |message: String| {
                    out.push(RouteProblem {
                        connector: Address::connector(cluster, &c.name),
                        route: format!("{} -> {}.{}", r.topic, r.db, r.table),
                        message,
                    })
                };
                if !w.topics_desired.contains_key(&r.topic)
                    && !w.topics_observed.contains_key(&r.topic)
                {
                    problem(format!(
                        "topic `{}` is neither declared nor present in Kafka; declare it with a `kind: Topic` document",
                        r.topic
                    ));
                }
                let db_want = w.kusto_desired.databases.get(&r.db);
                let db_have = w.kusto_observed.databases.get(&r.db);
                let table_address = Address::kusto_table(&r.db, &r.table);
                let table_want = db_want.and_then(|d| d.tables.get(&r.table));
                let table_have = db_have
                    .and_then(|d| d.tables.get(&r.table))
                    .filter(|_| !w.removed.contains(&table_address));
                if table_want.is_none() && table_have.is_none() {
                    problem(
                        if db_have.is_some_and(|d| d.tables.contains_key(&r.table)) {
                            format!(
                                "the plan drops table `{}.{}`, which the route ingests into; remove or re-point the route in the same change",
                                r.db, r.table
                            )
                        } else {
                            format!(
                                "table `{}.{}` is neither declared nor present in Kusto",
                                r.db, r.table
                            )
                        },
                    );
                    continue;
                }
                if let Some(name) = &r.mapping {
                    let removed = w
                        .removed
                        .contains(&Address::kusto_mapping(&r.db, &r.table, name));
                    let find = |t: Option<&crate::model::kusto::TableState>| -> Option<Mapping> {
                        t.and_then(|t| t.mappings.values().find(|m| &m.name == name).cloned())
                    };
                    let after = match table_want {
                        Some(declared) => {
                            find(Some(declared)).or_else(|| find(table_have).filter(|_| !removed))
                        }
                        None => find(table_have).filter(|_| !removed),
                    };
                    match after {
                        None if removed => problem(format!(
                            "the plan drops mapping `{name}` of table `{}`, which the route uses; keep the mapping or change the route",
                            r.table
                        )),
                        None => problem(format!(
                            "mapping `{name}` of table `{}` is neither declared nor present in Kusto",
                            r.table
                        )),
                        Some(m) => {
                            if let Some(f) = DataFormat::parse(&r.format)
                                && f.mapping_kind() != m.kind
                            {
                                problem(format!(
                                    "mapping `{name}` is of kind {} but format `{}` needs kind {}",
                                    m.kind,
                                    r.format,
                                    f.mapping_kind()
                                ));
                            }
                        }
                    }
                }
                if r.streaming {
                    let db_on = db_want.or(db_have).is_some_and(|d| d.streaming);
                    let table_after = table_want.or(table_have);
                    if !table_after.is_some_and(|t| t.streams(db_on)) {
                        problem(if table_after.and_then(|t| t.streaming) == Some(false) {
                            format!(
                                "streaming route but `{}.{}` has a streaming ingestion policy that disables it (a table's policy overrides its database's)",
                                r.db, r.table
                            )
                        } else {
                            format!(
                                "streaming route but streaming ingestion is enabled on neither `{}.{}` nor its database",
                                r.db, r.table
                            )
                        });
                    }
                }
                if let Some(app) = &app {
                    let roles = ["admins", "ingestors"];
                    let db_address = Address::kusto_database(&r.db);
                    let allowed = db_want.is_some_and(|d| holds(&d.principals, app, &roles))
                        || db_have.is_some_and(|d| {
                            holds_kept(&d.principals, app, &roles, &db_address, w.removed)
                        })
                        || table_want.is_some_and(|t| holds(&t.principals, app, &roles))
                        || table_have.is_some_and(|t| {
                            holds_kept(&t.principals, app, &roles, &table_address, w.removed)
                        });
                    if !allowed {
                        problem(format!(
                            "the connector's AAD app {app} is neither ingestor nor admin of database `{}` or table `{}` after this plan; add it to `principals.ingestors` of the database",
                            r.db, r.table
                        ));
                    }
                }
            }
        }
    }
    out
}

fn holds(
    principals: &BTreeMap<crate::model::kusto::RoleKey, Option<String>>,
    app: &str,
    roles: &[&str],
) -> bool {
    principals.keys().any(|k| grants(k, app, roles))
}

/// Whether a live assignment grants the app one of the roles and the plan does not revoke it.
fn holds_kept(
    principals: &BTreeMap<crate::model::kusto::RoleKey, Option<String>>,
    app: &str,
    roles: &[&str],
    scope: &Address,
    removed: &BTreeSet<Address>,
) -> bool {
    principals
        .keys()
        .any(|k| grants(k, app, roles) && !removed.contains(&scope.role(&k.role, &k.fqn)))
}

fn grants(k: &crate::model::kusto::RoleKey, app: &str, roles: &[&str]) -> bool {
    roles.contains(&k.role.as_str())
        && PrincipalRef::parse_fqn(&k.fqn)
            .is_some_and(|p| p.kind == PrincipalKind::App && p.id == app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, desired, load};

    #[test]
    fn the_examples_satisfy_every_route_requirement() {
        for (dir, env) in [
            ("examples/gameplay", "local"),
            ("examples/telemetry", "dev"),
        ] {
            let m = load(
                &[dir.into()],
                &LoadOptions {
                    environment: Some(env.into()),
                    vars: Vec::new(),
                },
            )
            .expect("loads");
            let kusto = desired::kusto_state(&m);
            let world = World {
                kusto_desired: &kusto,
                kusto_observed: &KustoState::default(),
                connectors: &desired::connect_state(&m),
                topics_desired: &desired::kafka_topics(&m),
                topics_observed: &BTreeMap::new(),
                removed: &BTreeSet::new(),
            };
            assert_eq!(check(&world), vec![], "{dir}");
        }
    }

    #[test]
    fn missing_topic_access_and_streaming_are_reported_per_route() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).expect("loads");
        let mut kusto = desired::kusto_state(&m);
        let db = kusto.databases.get_mut("gamedb").expect("db");
        db.principals.clear();
        let mut connectors = desired::connect_state(&m);
        let c = connectors
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("sink");
        c.config.insert(
            "kusto.tables.topics.mapping".into(),
            r#"[{"topic":"missing","db":"gamedb","table":"GamePlay","format":"csv","mapping":"gameplay_json_mapping","streaming":true}]"#.into(),
        );
        let world = World {
            kusto_desired: &kusto,
            kusto_observed: &KustoState::default(),
            connectors: &connectors,
            topics_desired: &desired::kafka_topics(&m),
            topics_observed: &BTreeMap::new(),
            removed: &BTreeSet::new(),
        };
        let messages: Vec<String> = check(&world).into_iter().map(|p| p.message).collect();
        assert_eq!(
            messages,
            vec![
                "topic `missing` is neither declared nor present in Kafka; declare it with a `kind: Topic` document".to_string(),
                "mapping `gameplay_json_mapping` is of kind json but format `csv` needs kind csv".to_string(),
                "streaming route but streaming ingestion is enabled on neither `gamedb.GamePlay` nor its database".to_string(),
                "the connector's AAD app 00000000-0000-0000-0000-00000000a11d is neither ingestor nor admin of database `gamedb` or table `GamePlay` after this plan; add it to `principals.ingestors` of the database".to_string(),
            ]
        );
    }

    /// A table's own disabling policy overrides a streaming database, so a streaming route into
    /// it is refused even though the database streams; a table without a policy follows the
    /// database.
    #[test]
    fn a_table_policy_that_disables_streaming_overrides_its_database() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).expect("loads");
        let mut connectors = desired::connect_state(&m);
        connectors
            .get_mut("main")
            .and_then(|m| m.get_mut("gameplay-kusto-sink"))
            .expect("sink")
            .config
            .insert(
                "kusto.tables.topics.mapping".into(),
                r#"[{"topic":"gameplay","db":"gamedb","table":"GamePlay","format":"json","mapping":"gameplay_json_mapping","streaming":true}]"#.into(),
            );
        let messages = |table: Option<bool>| {
            let mut kusto = desired::kusto_state(&m);
            let db = kusto.databases.get_mut("gamedb").expect("db");
            db.streaming = true;
            db.tables.get_mut("GamePlay").expect("GamePlay").streaming = table;
            let world = World {
                kusto_desired: &kusto,
                kusto_observed: &KustoState::default(),
                connectors: &connectors,
                topics_desired: &desired::kafka_topics(&m),
                topics_observed: &BTreeMap::new(),
                removed: &BTreeSet::new(),
            };
            check(&world)
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
        };
        assert_eq!(messages(None), Vec::<String>::new());
        assert_eq!(messages(Some(true)), Vec::<String>::new());
        assert_eq!(
            messages(Some(false)),
            vec!["streaming route but `gamedb.GamePlay` has a streaming ingestion policy that disables it (a table's policy overrides its database's)".to_string()]
        );
    }

    #[test]
    fn live_objects_the_plan_removes_do_not_count() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).expect("loads");
        let declared = desired::kusto_state(&m);
        let live = declared.clone();
        let mut kusto = declared;
        kusto
            .databases
            .get_mut("gamedb")
            .expect("db")
            .tables
            .clear();
        kusto
            .databases
            .get_mut("gamedb")
            .expect("db")
            .principals
            .clear();
        let connectors = desired::connect_state(&m);
        let topics = desired::kafka_topics(&m);
        let check_with = |removed: &[Address]| -> Vec<String> {
            let removed: BTreeSet<Address> = removed.iter().cloned().collect();
            check(&World {
                kusto_desired: &kusto,
                kusto_observed: &live,
                connectors: &connectors,
                topics_desired: &topics,
                topics_observed: &BTreeMap::new(),
                removed: &removed,
            })
            .into_iter()
            .map(|p| p.message)
            .collect()
        };
        assert_eq!(check_with(&[]), Vec::<String>::new(), "live and kept");
        assert_eq!(
            check_with(&[Address::kusto_mapping("gamedb", "GamePlay", "gameplay_json_mapping")]),
            vec!["the plan drops mapping `gameplay_json_mapping` of table `GamePlay`, which the route uses; keep the mapping or change the route".to_string()]
        );
        assert_eq!(
            check_with(&[Address::kusto_table("gamedb", "GamePlay")]),
            vec!["the plan drops table `gamedb.GamePlay`, which the route ingests into; remove or re-point the route in the same change".to_string()]
        );
        let admin = live.databases["gamedb"]
            .principals
            .keys()
            .next()
            .expect("the app's role")
            .clone();
        assert_eq!(
            check_with(&[Address::kusto_database("gamedb").role(&admin.role, &admin.fqn)]).len(),
            1,
            "a revoked role no longer grants access"
        );
    }
}

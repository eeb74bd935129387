use super::*;
use crate::kusto::observe;
use crate::manifest::{LoadOptions, desired, load};
use crate::sandbox::kusto::{Caller, KustoSandbox};

fn gameplay() -> KustoState {
    let m = load(&["examples/gameplay".into()], &LoadOptions::default()).expect("gameplay loads");
    desired::kusto_state(&m)
}

fn options() -> DiffOptions {
    DiffOptions {
        prune: false,
        owner: Some("gameplay".into()),
    }
}

fn run(sandbox: &KustoSandbox, csl: &str) {
    sandbox
        .execute("gamedb", csl, &Caller::cluster_admin("aaduser=me"))
        .unwrap_or_else(|e| panic!("{csl}: {e:?}"));
}

fn observe_all(sandbox: &KustoSandbox, desired: &KustoState) -> KustoState {
    let caller = Caller::cluster_admin("aaduser=me");
    let mut state = KustoState::default();
    for db in desired.databases.keys() {
        let bulk: Vec<_> = observe::bulk_reads(db)
            .iter()
            .map(|c| sandbox.execute(db, c, &caller).expect("bulk read"))
            .collect();
        let mut db_state = observe::database_state(db, &bulk).expect("observe");
        // As the provider does: name users and groups known only by object id.
        for table in observe::tables_to_name(&db_state, &desired.databases[db]) {
            let command = crate::kusto::render::show_table_principals(&table);
            let result = sandbox
                .execute(db, &command, &caller)
                .expect("table principals");
            observe::add_table_names(&mut db_state, &table, &result).expect("names");
        }
        state.databases.insert(db.clone(), db_state);
    }
    state
}

fn apply_all(sandbox: &KustoSandbox, changes: &[Change]) {
    for c in changes {
        for cmd in &c.command_texts() {
            run(sandbox, cmd);
        }
    }
}

/// The desired state as the cluster can report it: which roles the manifests list is not a
/// property of the cluster.
fn as_observed(desired: &KustoState) -> KustoState {
    let mut state = desired.clone();
    for db in state.databases.values_mut() {
        db.declared_roles.clear();
        for t in db.tables.values_mut() {
            t.declared_roles.clear();
        }
    }
    state
}

fn summary(changes: &[Change]) -> Vec<(String, Action, ImpactClass)> {
    changes
        .iter()
        .map(|c| (c.address.to_string(), c.action, c.impact))
        .collect()
}

#[test]
fn from_empty_the_gameplay_walkthrough_is_four_safe_creates_in_dependency_order() {
    let desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let observed = observe_all(&sandbox, &desired);
    let changes = diff(&desired, &observed, &options());
    let app = "aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2";
    assert_eq!(
        summary(&changes),
        vec![
            (
                "kusto.gamedb.table.GamePlay".into(),
                Action::Create,
                ImpactClass::Safe
            ),
            (
                "kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping".into(),
                Action::Create,
                ImpactClass::Safe
            ),
            (
                "kusto.gamedb.table.GamePlay.policy.ingestionbatching".into(),
                Action::Create,
                ImpactClass::Safe
            ),
            (
                format!("kusto.gamedb.role.admins.{app}"),
                Action::Create,
                ImpactClass::Safe
            ),
        ]
    );
    assert_eq!(
        changes[0].command_texts(),
        vec![
            r#".create table GamePlay (PlayerID:int, GameID:int, Win:long, Score:int, EventTime:datetime) with (docstring = "[kustoplan:gameplay]")"#.to_string(),
        ]
    );
    assert_eq!(
        changes[1].command_texts(),
        vec![r#".create-or-alter table GamePlay ingestion json mapping "gameplay_json_mapping" "[{\"column\":\"PlayerID\",\"datatype\":\"int\",\"Properties\":{\"Path\":\"$.playerId\"}},{\"column\":\"GameID\",\"datatype\":\"int\",\"Properties\":{\"Path\":\"$.gameId\"}},{\"column\":\"Win\",\"datatype\":\"long\",\"Properties\":{\"Path\":\"$.win\"}},{\"column\":\"Score\",\"datatype\":\"int\",\"Properties\":{\"Path\":\"$.score\"}},{\"column\":\"EventTime\",\"datatype\":\"datetime\",\"Properties\":{\"Path\":\"$.eventTime\"}}]""#.to_string()]
    );
    assert_eq!(
        changes[2].command_texts(),
        vec![r#".alter table GamePlay policy ingestionbatching "{\"MaximumBatchingTimeSpan\":\"00:00:10\",\"MaximumNumberOfItems\":5,\"MaximumRawDataSizeMB\":100}""#.to_string()]
    );
    assert_eq!(
        changes[3].command_texts(),
        vec![format!(
            r#".add database gamedb admins ("{app}") "AAD App""#
        )]
    );
}

#[test]
fn applying_the_plan_converges_and_a_second_plan_is_empty() {
    let desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let first = diff(&desired, &observe_all(&sandbox, &desired), &options());
    apply_all(&sandbox, &first);
    let observed = observe_all(&sandbox, &desired);
    assert_eq!(
        diff(&desired, &observed, &options()),
        vec![],
        "no false drift after apply"
    );
    assert_eq!(
        observed,
        as_observed(&desired),
        "observed state reads back identical to the declared one"
    );
}

#[test]
fn column_changes_are_classified_by_risk() {
    let desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    let mut next = desired.clone();
    let table = next
        .databases
        .get_mut("gamedb")
        .and_then(|d| d.tables.get_mut("GamePlay"))
        .expect("table");
    table.columns.push(crate::model::kusto::Column {
        name: "Level".into(),
        ty: crate::model::ColumnType::String,
    });
    table.columns[2].ty = crate::model::ColumnType::Real;
    table.columns.retain(|c| c.name != "Score");
    let changes = diff(&next, &observe_all(&sandbox, &desired), &options());
    assert_eq!(
        summary(&changes),
        vec![
            (
                "kusto.gamedb.table.GamePlay".into(),
                Action::Update,
                ImpactClass::Safe
            ),
            (
                "kusto.gamedb.table.GamePlay.column.Win".into(),
                Action::Update,
                ImpactClass::DataLoss
            ),
            (
                "kusto.gamedb.table.GamePlay.column.Score".into(),
                Action::Delete,
                ImpactClass::DataLoss
            ),
        ]
    );
    assert_eq!(
        changes[0].command_texts(),
        vec![".alter-merge table GamePlay (Level:string)".to_string()]
    );
    assert_eq!(
        changes[1].command_texts(),
        vec![".alter column GamePlay.Win type=real".to_string()]
    );
    assert_eq!(
        changes[2].command_texts(),
        vec![".drop column GamePlay.Score".to_string()]
    );
}

#[test]
fn drift_behind_our_back_is_reported_with_before_and_after() {
    let desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    run(
        &sandbox,
        r#".alter table GamePlay policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:05:00"}'"#,
    );
    run(
        &sandbox,
        ".add database gamedb viewers ('aaduser=intruder@example.com')",
    );
    let changes = diff(&desired, &observe_all(&sandbox, &desired), &options());
    assert_eq!(
        summary(&changes),
        vec![(
            "kusto.gamedb.table.GamePlay.policy.ingestionbatching".into(),
            Action::Update,
            ImpactClass::Safe
        )],
        "undeclared principals are left alone without pruning"
    );
    assert!(
        changes[0]
            .before
            .as_deref()
            .is_some_and(|b| b.contains("\"00:05:00\""))
    );
    assert!(
        changes[0]
            .after
            .as_deref()
            .is_some_and(|a| a.contains("\"00:00:10\""))
    );
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    let changes = diff(&desired, &observe_all(&sandbox, &desired), &pruning);
    assert_eq!(
        changes
            .last()
            .map(|c| (c.address.as_str(), c.action, c.impact)),
        Some((
            format!(
                "kusto.gamedb.role.viewers.{}",
                crate::sandbox::kusto::resolved_fqn("aaduser=intruder@example.com").expect("valid")
            )
            .as_str(),
            Action::Delete,
            ImpactClass::DataLoss
        ))
    );
}

#[test]
fn pruning_touches_only_tables_this_stack_owns() {
    let desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    run(&sandbox, ".create table Old (A:int)");
    run(
        &sandbox,
        ".alter table Old docstring 'legacy [kustoplan:gameplay]'",
    );
    run(&sandbox, ".create table Theirs (A:int)");
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    let changes = diff(&desired, &observe_all(&sandbox, &desired), &pruning);
    let drops: Vec<_> = changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| (c.address.as_str(), c.impact, c.command_texts()))
        .collect();
    assert_eq!(
        drops,
        vec![(
            "kusto.gamedb.table.Old",
            ImpactClass::DataLoss,
            vec![".drop table Old ifexists".to_string()]
        )]
    );
    let no_prune = diff(&desired, &observe_all(&sandbox, &desired), &options());
    assert!(no_prune.iter().all(|c| c.action != Action::Delete));
}

#[test]
fn tenant_names_match_the_tenant_ids_kusto_resolves_them_to() {
    let mut desired = gameplay();
    let db = desired.databases.get_mut("gamedb").expect("db");
    db.principals = [(
        RoleKey {
            role: "admins".into(),
            fqn: "aadapp=00000000-0000-0000-0000-00000000a11d;contoso.com".into(),
        },
        Some("AAD App".to_string()),
    )]
    .into_iter()
    .collect();
    let mut observed = desired.clone();
    observed.databases.get_mut("gamedb").expect("db").principals = [(
        RoleKey {
            role: "admins".into(),
            fqn: "aadapp=00000000-0000-0000-0000-00000000a11d;72f988bf-86f1-41af-91ab-2d7cd011db47"
                .into(),
        },
        Some("AAD App".to_string()),
    )]
    .into_iter()
    .collect();
    assert_eq!(diff(&desired, &observed, &options()), vec![]);
    let other_app = observed.databases.get_mut("gamedb").expect("db");
    other_app.principals = [(
        RoleKey {
            role: "admins".into(),
            fqn: "aadapp=11111111-0000-0000-0000-00000000a11d;72f988bf-86f1-41af-91ab-2d7cd011db47"
                .into(),
        },
        None,
    )]
    .into_iter()
    .collect();
    let changes = diff(&desired, &observed, &options());
    assert_eq!(
        summary(&changes),
        vec![
            (
                "kusto.gamedb.role.admins.aadapp=00000000-0000-0000-0000-00000000a11d;contoso.com"
                    .into(),
                Action::Create,
                ImpactClass::Safe
            ),
            (
                "kusto.gamedb.role.admins.aadapp=11111111-0000-0000-0000-00000000a11d;72f988bf-86f1-41af-91ab-2d7cd011db47"
                    .into(),
                Action::Delete,
                ImpactClass::DataLoss
            )
        ],
        "the other app is not in the declared admins list"
    );
}

/// Table principals and batching/streaming policies at table and database level are read from
/// the schema script: what apply writes reads back exactly as declared.
#[test]
fn table_principals_and_policies_at_both_levels_round_trip() {
    let options = LoadOptions {
        environment: Some("dev".into()),
        vars: Vec::new(),
    };
    let m = load(&["examples/telemetry".into()], &options).expect("telemetry loads");
    let mut desired = desired::kusto_state(&m);
    let db = desired.databases.get_mut("telemetry").expect("telemetry");
    db.streaming = true;
    let alerts = db.tables.get_mut("DeviceAlerts").expect("DeviceAlerts");
    alerts.batching = Some(crate::model::BatchingPolicy::DEFAULTS);
    alerts.principals.extend(
        db.principals
            .iter()
            .filter(|(k, _)| k.role == "ingestors")
            .map(|(k, n)| (k.clone(), n.clone())),
    );
    let db = &desired.databases["telemetry"];
    assert!(db.batching.is_some() && db.streaming);
    let tables = || db.tables.values();
    assert!(tables().filter(|t| !t.principals.is_empty()).count() >= 2);
    assert!(tables().any(|t| t.principals.len() >= 2));
    assert!(tables().any(|t| t.streaming == Some(true) && t.batching.is_some()));
    // In a database that streams, a table declared `streaming_ingestion: false` needs its own
    // disabling policy, which must read back as declared.
    assert!(tables().any(|t| t.streaming == Some(false) && t.batching.is_some()));

    let sandbox = KustoSandbox::in_memory(&["telemetry".to_string()]).expect("sandbox");
    let owned = DiffOptions {
        prune: false,
        owner: Some("telemetry".into()),
    };
    let changes = diff(&desired, &observe_all(&sandbox, &desired), &owned);
    assert!(!changes.is_empty());
    for c in &changes {
        for cmd in &c.command_texts() {
            sandbox
                .execute("telemetry", cmd, &Caller::cluster_admin("aaduser=me"))
                .unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
        }
    }
    let observed = observe_all(&sandbox, &desired);
    let report = diff_report(&desired, &observed, &owned);
    // Database principals are matched through their display names. A table admin who holds no
    // database role is listed by object id only in the schema script; the table's principals
    // name it, so it matches `oncall@example.com` and nothing is granted again.
    assert_eq!(
        summary(&report.changes),
        vec![],
        "UPNs and group names match the object ids the service lists"
    );
    assert_eq!(report.undeclared_principals_left, 0);
    let pruning = DiffOptions {
        prune: true,
        ..owned.clone()
    };
    assert!(
        diff(&desired, &observed, &pruning)
            .iter()
            .all(|c| c.action != Action::Delete),
        "a declared person is never revoked"
    );
    let anonymous = |state: &KustoState| {
        let mut state = as_observed(state);
        for db in state.databases.values_mut() {
            db.principals.clear();
            db.directory.clear();
            let database = db.streaming;
            for t in db.tables.values_mut() {
                t.principals.clear();
                // A table whose declared setting equals its database's needs no policy of its
                // own: compare what streams, not which entity says so.
                t.streaming = Some(t.streams(database));
            }
            // Bodies read back as the service stores them: equal up to whitespace.
            for f in db.functions.values_mut() {
                f.body = crate::model::function::normalize_body(&f.body);
            }
            // Queries likewise; backfill is a creation option the service does not keep.
            for v in db.materialized_views.values_mut() {
                v.query = crate::model::function::normalize_body(&v.query);
                v.backfill = false;
            }
        }
        state
    };
    assert_eq!(anonymous(&observed), anonymous(&desired));
    assert_eq!(
        observed.databases["telemetry"].tables["DeviceReadings"].streaming,
        Some(false),
        "declared off in a streaming database: an explicit disabling policy"
    );
}

#[test]
fn a_declared_table_without_any_marker_is_adopted_without_a_change_and_never_pruned() {
    let desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    run(&sandbox, ".alter table GamePlay docstring ''");
    let observed = observe_all(&sandbox, &desired);
    assert_eq!(observed.databases["gamedb"].tables["GamePlay"].owner, None);
    assert_eq!(diff(&desired, &observed, &options()), vec![]);

    let mut changed = desired.clone();
    if let Some(t) = changed
        .databases
        .get_mut("gamedb")
        .and_then(|d| d.tables.get_mut("GamePlay"))
    {
        t.docstring = "Game events".into();
    }
    let changes = diff(&changed, &observed, &options());
    assert_eq!(
        changes[0].command_texts(),
        vec![r#".alter table GamePlay docstring "Game events [kustoplan:gameplay]""#.to_string()],
        "the marker comes with the next docstring change"
    );

    let mut undeclared = desired.clone();
    if let Some(d) = undeclared.databases.get_mut("gamedb") {
        d.tables.clear();
    }
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    assert!(
        diff(&undeclared, &observed, &pruning)
            .iter()
            .all(|c| !c.address.as_str().ends_with("table.GamePlay")),
        "an unmarked table is never pruned"
    );
}

/// A role the manifests list is the exact set: an undeclared principal in it is a `data-loss`
/// removal even without pruning. Undeclared principals in unlisted roles are kept and counted.
#[test]
fn a_listed_role_is_the_exact_set_and_unlisted_roles_are_counted() {
    let mut desired = gameplay();
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    run(
        &sandbox,
        ".add database gamedb admins ('aadapp=00000000-0000-0000-0000-0000000bad00;72f988bf-86f1-41af-91ab-2d7cd011db47')",
    );
    run(
        &sandbox,
        ".add database gamedb viewers ('aadapp=00000000-0000-0000-0000-00000000beef;72f988bf-86f1-41af-91ab-2d7cd011db47')",
    );
    let intruder =
        "aadapp=00000000-0000-0000-0000-0000000bad00;72f988bf-86f1-41af-91ab-2d7cd011db47";
    let viewer = "aadapp=00000000-0000-0000-0000-00000000beef;72f988bf-86f1-41af-91ab-2d7cd011db47";
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &options());
    assert_eq!(
        summary(&report.changes),
        vec![(
            format!("kusto.gamedb.role.admins.{intruder}"),
            Action::Delete,
            ImpactClass::DataLoss
        )]
    );
    assert_eq!(
        report.changes[0].summary,
        format!(
            "revoke admins from {intruder} (not in the declared admins list; access is removed)"
        )
    );
    assert_eq!(
        report.changes[0].command_texts(),
        vec![format!(".drop database gamedb admins (\"{intruder}\")")]
    );
    assert_eq!(report.undeclared_principals_left, 1, "the viewer is kept");

    let db = desired.databases.get_mut("gamedb").expect("db");
    db.declared_roles.insert("viewers".to_string());
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &options());
    assert_eq!(
        summary(&report.changes),
        vec![
            (
                format!("kusto.gamedb.role.admins.{intruder}"),
                Action::Delete,
                ImpactClass::DataLoss
            ),
            (
                format!("kusto.gamedb.role.viewers.{viewer}"),
                Action::Delete,
                ImpactClass::DataLoss
            ),
        ]
    );
    assert_eq!(report.undeclared_principals_left, 0);
}

/// Users and groups declared by UPN or name match the `aaduser=<objectId>;<tenantId>` the
/// service lists (through `Name (upn: x)` display names): the plan converges, pruning revokes
/// nobody declared, and a notes change says that access is briefly removed.
#[test]
fn users_and_groups_by_name_match_the_object_ids_the_service_lists() {
    let mut desired = gameplay();
    let db = desired.databases.get_mut("gamedb").expect("db");
    for (role, fqn) in [
        ("viewers", "aaduser=Jack@Contoso.com"),
        ("viewers", "aadgroup=analysts@contoso.com"),
        ("monitors", "aadapp=00000000-0000-0000-0000-00000000b0b0"),
    ] {
        let p = PrincipalRef::parse_fqn(fqn).expect("fqn");
        db.principals.insert(RoleKey::new(role, &p), None);
        db.declared_roles.insert(role.to_string());
    }
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    let observed = observe_all(&sandbox, &desired);
    let jack = crate::sandbox::kusto::resolved_fqn("aaduser=jack@contoso.com").expect("valid");
    assert!(
        observed.databases["gamedb"]
            .principals
            .contains_key(&RoleKey {
                role: "viewers".into(),
                fqn: jack.clone()
            }),
        "the service lists the user by object id: {observed:?}"
    );
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    let report = diff_report(&desired, &observed, &pruning);
    assert_eq!(
        (report.changes, report.undeclared_principals_left),
        (vec![], 0)
    );

    // The same user granted again by object id is the same principal.
    let oid = jack["aaduser=".len()..jack.find(';').expect("tenant")].to_string();
    run(
        &sandbox,
        &format!(".add database gamedb viewers ('aaduser={oid}')"),
    );
    let observed = observe_all(&sandbox, &desired);
    assert_eq!(observed.databases["gamedb"].principals.len(), 4);
    assert_eq!(diff(&desired, &observed, &pruning), vec![]);

    let db = desired.databases.get_mut("gamedb").expect("db");
    let declared = RoleKey::new(
        "viewers",
        &PrincipalRef::parse_fqn("aaduser=jack@contoso.com").expect("fqn"),
    );
    db.principals.insert(declared, Some("on call".to_string()));
    let changes = diff(&desired, &observed, &pruning);
    assert_eq!(
        summary(&changes),
        vec![(
            format!("kusto.gamedb.role.viewers.{jack}"),
            Action::Replace,
            ImpactClass::Safe
        )]
    );
    assert_eq!(
        changes[0].summary,
        format!(
            "change notes of {jack} in viewers (dropped and added again: access is briefly removed)"
        )
    );
}

/// Kusto applies a table's streaming policy over its database's, either way. The plan judges a
/// table by what streams after apply (no drift between equivalent states), writes an explicit
/// disabling policy for a table declared off (a deletion would let the database's policy turn
/// it on), and removes a table policy only when the table's setting is not declared.
#[test]
fn streaming_is_judged_by_effect_and_declared_off_is_an_explicit_policy() {
    let state = |database: bool, table: Option<bool>| {
        let mut s = gameplay();
        let db = s.databases.get_mut("gamedb").expect("gamedb");
        db.streaming = database;
        db.tables.get_mut("GamePlay").expect("GamePlay").streaming = table;
        s
    };
    let address = "kusto.gamedb.table.GamePlay.policy.streamingingestion";
    // (database, table) declared, then live, then the table's expected change.
    type Case<'a> = (
        (bool, Option<bool>),
        (bool, Option<bool>),
        Option<(Action, &'a str)>,
    );
    let cases: [Case<'_>; 9] = [
        (
            (true, Some(false)),
            (true, None),
            Some((Action::Create, r#"IsEnabled\":false"#)),
        ),
        (
            (true, Some(false)),
            (true, Some(true)),
            Some((Action::Update, r#"IsEnabled\":false"#)),
        ),
        (
            (false, Some(false)),
            (false, Some(true)),
            Some((Action::Update, r#"IsEnabled\":false"#)),
        ),
        ((false, Some(false)), (false, None), None),
        ((false, None), (false, Some(false)), None),
        ((true, Some(true)), (true, None), None),
        (
            (true, None),
            (true, Some(false)),
            Some((
                Action::Delete,
                ".delete table GamePlay policy streamingingestion",
            )),
        ),
        (
            (false, None),
            (false, Some(true)),
            Some((
                Action::Delete,
                ".delete table GamePlay policy streamingingestion",
            )),
        ),
        // The database turns streaming on in the same plan: a table declared off must not
        // follow it.
        (
            (true, Some(false)),
            (false, None),
            Some((Action::Create, r#"IsEnabled\":false"#)),
        ),
    ];
    for ((want_db, want_t), (have_db, have_t), expected) in cases {
        let desired = state(want_db, want_t);
        let observed = as_observed(&state(have_db, have_t));
        let changes = diff(&desired, &observed, &options());
        let table: Vec<_> = changes.iter().filter(|c| c.address == address).collect();
        let case = format!("declared ({want_db}, {want_t:?}), live ({have_db}, {have_t:?})");
        match expected {
            None => assert!(
                table.is_empty(),
                "{case}: no change expected, got {table:?}"
            ),
            Some((action, command)) => {
                assert_eq!(table.len(), 1, "{case}: {changes:?}");
                assert_eq!(table[0].action, action, "{case}");
                assert!(
                    table[0].command_texts().iter().any(|c| c.contains(command)),
                    "{case}: {:?}",
                    table[0].command_texts()
                );
            }
        }
        // Whatever the plan writes, the sandbox reads it back as converged.
        let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
        apply_all(
            &sandbox,
            &diff(&observed, &KustoState::default(), &options()),
        );
        apply_all(&sandbox, &changes);
        let after = observe_all(&sandbox, &desired);
        let again = diff(&desired, &after, &options());
        assert!(
            again
                .iter()
                .all(|c| !c.address.as_str().contains("streamingingestion")),
            "{case}: not converged: {again:?}"
        );
    }
}

/// Retention and caching at both levels: what apply writes reads back equal (no drift, also
/// for hot windows and spellings), a shorter soft-delete period than what applies today is
/// `data-loss` where there is data (the table's own policy, else the database's; not for a
/// table this plan creates), a longer one or any caching change is `safe`, and a policy the
/// manifests do not declare is left alone.
#[test]
fn retention_and_caching_round_trip_and_shortening_retention_loses_data() {
    use crate::model::{CachingPolicy, HotWindow, RetentionPolicy, Timespan};
    let days = |n: u64| Timespan::from_secs(n * 86_400);
    let mut desired = gameplay();
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    db.retention = Some(RetentionPolicy {
        soft_delete: days(365),
        recoverable: true,
    });
    db.caching = Some(CachingPolicy {
        hot: days(31),
        hot_windows: vec![HotWindow {
            from: "2026-01-01T00:00:00Z".into(),
            to: "2026-02-01T00:00:00Z".into(),
        }],
    });
    let table = db.tables.get_mut("GamePlay").expect("GamePlay");
    table.retention = Some(RetentionPolicy {
        soft_delete: days(90),
        recoverable: false,
    });
    table.caching = Some(CachingPolicy {
        hot: Timespan::from_secs(12 * 3600),
        hot_windows: Vec::new(),
    });
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let first = diff(&desired, &observe_all(&sandbox, &desired), &options());
    let policy = |changes: &[Change], address: &str| -> Option<(Action, ImpactClass, String)> {
        changes
            .iter()
            .find(|c| c.address == address)
            .map(|c| (c.action, c.impact, c.summary.clone()))
    };
    // Nothing exists yet: no data to lose.
    assert_eq!(
        policy(&first, "kusto.gamedb.policy.retention"),
        Some((
            Action::Create,
            ImpactClass::Safe,
            "keep data for 365d".into()
        ))
    );
    assert_eq!(
        policy(&first, "kusto.gamedb.table.GamePlay.policy.retention"),
        Some((
            Action::Create,
            ImpactClass::Safe,
            "keep data for 90d; deleted data can no longer be recovered".into()
        ))
    );
    // The same policies over existing tables judge against what applies before the plan.
    let bare = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let mut tables_only = desired.clone();
    for db in tables_only.databases.values_mut() {
        db.retention = None;
        db.tables.values_mut().for_each(|t| t.retention = None);
    }
    apply_all(
        &bare,
        &diff(&tables_only, &observe_all(&bare, &tables_only), &options()),
    );
    let over_data = diff(&desired, &observe_all(&bare, &desired), &options());
    assert_eq!(
        policy(&over_data, "kusto.gamedb.policy.retention"),
        Some((
            Action::Create,
            ImpactClass::DataLoss,
            "keep data for 365d (was 365000d): data older than 365d is deleted".into()
        ))
    );
    assert_eq!(
        policy(&over_data, "kusto.gamedb.table.GamePlay.policy.retention"),
        Some((
            Action::Create,
            ImpactClass::DataLoss,
            "keep data for 90d (was 365000d): data older than 90d is deleted; deleted data can no longer be recovered".into()
        ))
    );
    assert_eq!(
        policy(&first, "kusto.gamedb.policy.caching"),
        Some((
            Action::Create,
            ImpactClass::Safe,
            "keep the last 31d hot and 1 hot window".into()
        ))
    );
    apply_all(&sandbox, &first);
    let observed = observe_all(&sandbox, &desired);
    assert_eq!(diff(&desired, &observed, &options()), vec![]);
    let live = &observed.databases["gamedb"];
    assert_eq!(live.retention, desired.databases["gamedb"].retention);
    assert_eq!(live.caching, desired.databases["gamedb"].caching);
    assert_eq!(
        live.tables["GamePlay"].caching,
        desired.databases["gamedb"].tables["GamePlay"].caching
    );

    // Longer is safe, shorter loses data; not declared is left alone.
    let mut longer = desired.clone();
    let t = longer
        .databases
        .get_mut("gamedb")
        .and_then(|d| d.tables.get_mut("GamePlay"))
        .expect("GamePlay");
    t.retention = Some(RetentionPolicy {
        soft_delete: days(180),
        recoverable: false,
    });
    t.caching = None;
    let changes = diff(&longer, &observed, &options());
    assert_eq!(
        summary(&changes),
        vec![(
            "kusto.gamedb.table.GamePlay.policy.retention".into(),
            Action::Update,
            ImpactClass::Safe
        )]
    );
    let mut shorter = desired.clone();
    shorter
        .databases
        .get_mut("gamedb")
        .expect("gamedb")
        .retention = Some(RetentionPolicy {
        soft_delete: days(30),
        recoverable: true,
    });
    assert_eq!(
        summary(&diff(&shorter, &observed, &options())),
        vec![(
            "kusto.gamedb.policy.retention".into(),
            Action::Update,
            ImpactClass::DataLoss
        )]
    );
}

/// The gameplay stack plus one declared function.
fn with_function(body: &str) -> KustoState {
    let mut desired = gameplay();
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    db.functions.insert(
        "RecentPlays".into(),
        Function {
            name: "RecentPlays".into(),
            parameters: vec![crate::model::Parameter {
                name: "since".into(),
                ty: crate::model::ParameterType::Scalar(crate::model::ColumnType::Timespan),
            }],
            body: body.into(),
            docstring: "Plays since a time".into(),
            folder: "Helpers".into(),
            owner: Some("gameplay".into()),
            skip_validation: false,
            renamed_from: None,
        },
    );
    desired
}

#[test]
fn functions_round_trip_and_only_real_body_changes_are_updates() {
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let desired = with_function("GamePlay\n| where EventTime > ago(since)\n| take 10\n");
    let changes = diff(&desired, &observe_all(&sandbox, &desired), &options());
    let created: Vec<&Change> = changes
        .iter()
        .filter(|c| c.address == "kusto.gamedb.function.RecentPlays")
        .collect();
    assert_eq!(created.len(), 1, "{changes:?}");
    assert_eq!(
        (created[0].action, created[0].impact, created[0].phase),
        (Action::Create, ImpactClass::Safe, Phase::KustoFunctions)
    );
    assert_eq!(
        created[0].command_texts(),
        [
            ".create-or-alter function with (folder = \"Helpers\", docstring = \"Plays since a time [kustoplan:gameplay]\") RecentPlays(since:timespan) {\nGamePlay\n| where EventTime > ago(since)\n| take 10\n}"
        ]
    );
    assert!(
        changes
            .iter()
            .all(|c| c.phase < Phase::KustoFunctions || c.address.as_str().contains(".function.")),
        "functions come after tables, mappings, policies and principals"
    );
    apply_all(&sandbox, &changes);
    assert!(diff(&desired, &observe_all(&sandbox, &desired), &options()).is_empty());

    // Re-indented, CRLF line endings, lines joined: the same function.
    let respaced =
        with_function("  GamePlay   | where EventTime > ago(since)\r\n\r\n    | take 10");
    assert!(
        diff(&respaced, &observe_all(&sandbox, &respaced), &options()).is_empty(),
        "whitespace and line endings are not drift"
    );

    // A real change is an in-place update.
    let changed = with_function("GamePlay\n| where EventTime > ago(since)\n| take 20");
    let changes = diff(&changed, &observe_all(&sandbox, &changed), &options());
    assert_eq!(
        summary(&changes),
        [(
            "kusto.gamedb.function.RecentPlays".to_string(),
            Action::Update,
            ImpactClass::Safe
        )]
    );
    assert_eq!(changes[0].summary, "update function RecentPlays: body");
    let before = changes[0].before.as_deref().expect("before");
    assert!(before.contains("| take 10\n}"), "{before}");
    assert!(
        changes[0]
            .after
            .as_deref()
            .expect("after")
            .contains("| take 20\n}")
    );
    apply_all(&sandbox, &changes);
    assert!(diff(&changed, &observe_all(&sandbox, &changed), &options()).is_empty());

    // Parameters, folder and docstring are compared too.
    let mut retyped = changed.clone();
    let f = retyped
        .databases
        .get_mut("gamedb")
        .and_then(|db| db.functions.get_mut("RecentPlays"))
        .expect("function");
    f.parameters[0].ty = crate::model::ParameterType::Scalar(crate::model::ColumnType::DateTime);
    f.folder = "Queries".into();
    let changes = diff(&retyped, &observe_all(&sandbox, &retyped), &options());
    assert_eq!(
        changes[0].summary,
        "update function RecentPlays: parameters (callers must pass the new ones), folder"
    );
}

#[test]
fn undeclared_functions_are_dropped_only_when_pruning_and_owned() {
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let desired = with_function("GamePlay | take 1");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    run(
        &sandbox,
        ".create-or-alter function with (docstring = 'not ours') Theirs() { GamePlay | take 2 }",
    );
    run(
        &sandbox,
        ".create-or-alter function with (docstring = 'x [kustoplan:other]') OtherStack() { print 1 }",
    );
    let without = gameplay();
    let observed = observe_all(&sandbox, &without);
    assert_eq!(observed.databases["gamedb"].functions.len(), 3);
    assert!(
        diff(&without, &observed, &options()).is_empty(),
        "without prune nothing is dropped"
    );
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    let changes = diff(&without, &observed, &pruning);
    assert_eq!(
        summary(&changes),
        [(
            "kusto.gamedb.function.RecentPlays".to_string(),
            Action::Delete,
            ImpactClass::DataLoss
        )],
        "only the function this stack owns"
    );
    assert_eq!(
        changes[0].command_texts(),
        [".drop function RecentPlays ifexists"]
    );
    assert_eq!(changes[0].phase, Phase::KustoRemovals);
    assert!(
        changes[0].summary.contains("that call it fail"),
        "{}",
        changes[0].summary
    );
    apply_all(&sandbox, &changes);
    let after = observe_all(&sandbox, &without);
    assert_eq!(
        after.databases["gamedb"]
            .functions
            .keys()
            .collect::<Vec<_>>(),
        ["OtherStack", "Theirs"]
    );
}

#[test]
fn a_declared_function_without_a_marker_is_adopted_without_a_change() {
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let desired = with_function("GamePlay | take 1");
    apply_all(
        &sandbox,
        &diff(&desired, &observe_all(&sandbox, &desired), &options()),
    );
    run(
        &sandbox,
        ".create-or-alter function with (folder = 'Helpers', docstring = 'Plays since a time') RecentPlays(since:timespan) { GamePlay | take 1 }",
    );
    let observed = observe_all(&sandbox, &desired);
    assert_eq!(
        observed.databases["gamedb"].functions["RecentPlays"].owner,
        None
    );
    assert!(diff(&desired, &observed, &options()).is_empty());
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    assert!(
        diff(&gameplay(), &observed, &pruning).is_empty(),
        "never pruned"
    );
}

fn pruning() -> DiffOptions {
    DiffOptions {
        prune: true,
        ..options()
    }
}

/// The gameplay stack with its table called `name` instead of `GamePlay`.
fn gameplay_table_named(name: &str) -> KustoState {
    let mut state = gameplay();
    let db = state.databases.get_mut("gamedb").expect("gamedb");
    let mut table = db.tables.remove("GamePlay").expect("GamePlay");
    table.name = name.into();
    db.tables.insert(name.into(), table);
    state
}

/// A sandbox holding `state`, applied by the plan itself.
fn sandbox_with(state: &KustoState) -> KustoSandbox {
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    apply_all(
        &sandbox,
        &diff(state, &observe_all(&sandbox, state), &options()),
    );
    sandbox
}

fn table_mut<'s>(state: &'s mut KustoState, name: &str) -> &'s mut TableState {
    state
        .databases
        .get_mut("gamedb")
        .and_then(|db| db.tables.get_mut(name))
        .expect("table")
}

#[test]
fn a_renamed_table_is_renamed_first_and_diffed_under_its_new_name() {
    let sandbox = sandbox_with(&gameplay_table_named("Plays"));
    let mut desired = gameplay();
    let table = table_mut(&mut desired, "GamePlay");
    table.renamed_from = Some("Plays".into());
    table.columns.push(crate::model::kusto::Column {
        name: "Level".into(),
        ty: crate::model::ColumnType::String,
    });
    let observed = observe_all(&sandbox, &desired);
    let report = diff_report(&desired, &observed, &pruning());
    assert!(report.rename_problems.is_empty(), "{report:?}");
    // Renamed, then the new column added on top; the old name is not dropped (pruning is on
    // and the table is owned) and its mapping, policy and principals are not recreated.
    assert_eq!(
        summary(&report.changes),
        [
            (
                "kusto.gamedb.table.GamePlay".to_string(),
                Action::Update,
                ImpactClass::Restart
            ),
            (
                "kusto.gamedb.table.GamePlay".to_string(),
                Action::Update,
                ImpactClass::Safe
            ),
        ]
    );
    assert_eq!(
        report.changes[0].command_texts(),
        [".rename table Plays to GamePlay"]
    );
    assert_eq!(
        report.changes[0]
            .previous_address
            .as_ref()
            .map(Address::as_str),
        Some("kusto.gamedb.table.Plays")
    );
    assert_eq!(report.changes[1].previous_address, None);
    assert!(
        report.changes[0].summary.starts_with(
            "rename table Plays to GamePlay (data, mappings, policies and principals move"
        ),
        "{}",
        report.changes[0].summary
    );
    assert_eq!(
        report.changes[1].command_texts(),
        [".alter-merge table GamePlay (Level:string)"]
    );
    // The cross-system checks judge routes against the renamed state.
    let live = &report.live_after_renames.databases["gamedb"];
    assert!(live.tables.contains_key("GamePlay") && !live.tables.contains_key("Plays"));
    assert!(
        live.tables["GamePlay"]
            .mappings
            .values()
            .any(|m| m.name == "gameplay_json_mapping")
    );
    apply_all(&sandbox, &report.changes);
    let after = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(
        after.changes.is_empty() && after.rename_problems.is_empty(),
        "renamed_from may stay once applied: {after:?}"
    );
}

#[test]
fn a_rename_already_carried_out_changes_nothing() {
    let sandbox = sandbox_with(&gameplay());
    let mut desired = gameplay();
    table_mut(&mut desired, "GamePlay").renamed_from = Some("Plays".into());
    table_mut(&mut desired, "GamePlay")
        .renamed_columns
        .insert("Score".into(), "Points".into());
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert!(report.rename_problems.is_empty(), "{report:?}");
}

#[test]
fn a_rename_onto_an_existing_table_or_column_is_a_plan_error() {
    let mut both = gameplay();
    let plays = gameplay_table_named("Plays").databases["gamedb"].tables["Plays"].clone();
    both.databases
        .get_mut("gamedb")
        .expect("gamedb")
        .tables
        .insert("Plays".into(), plays);
    let sandbox = sandbox_with(&both);
    let mut desired = gameplay();
    table_mut(&mut desired, "GamePlay").renamed_from = Some("Plays".into());
    table_mut(&mut desired, "GamePlay")
        .renamed_columns
        .insert("Score".into(), "Win".into());
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    let problems: Vec<(&str, &str)> = report
        .rename_problems
        .iter()
        .map(|p| (p.address.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].0, "kusto.gamedb.table.GamePlay");
    assert!(
        problems[0]
            .1
            .contains("renamed from `Plays`, but both exist in database `gamedb`"),
        "{}",
        problems[0].1
    );
    assert_eq!(problems[1].0, "kusto.gamedb.table.GamePlay.column.Score");
    assert!(problems[1].1.contains("has both"), "{}", problems[1].1);
    assert!(
        !report
            .changes
            .iter()
            .any(|c| c.summary.starts_with("rename")),
        "{:?}",
        report.changes
    );
}

#[test]
fn a_rename_whose_source_is_gone_is_a_plan_error() {
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let mut desired = with_function("GamePlay | take 1");
    table_mut(&mut desired, "GamePlay").renamed_from = Some("Plays".into());
    desired
        .databases
        .get_mut("gamedb")
        .and_then(|db| db.functions.get_mut("RecentPlays"))
        .expect("function")
        .renamed_from = Some("LatestPlays".into());
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &options());
    let addresses: Vec<&str> = report
        .rename_problems
        .iter()
        .map(|p| p.address.as_str())
        .collect();
    assert_eq!(
        addresses,
        [
            "kusto.gamedb.table.GamePlay",
            "kusto.gamedb.function.RecentPlays"
        ]
    );
    assert!(
        report
            .rename_problems
            .iter()
            .all(|p| p.message.contains("the rename's source is gone")),
        "{report:?}"
    );

    // A column renamed from one the live table lacks, next to a table that exists.
    let sandbox = sandbox_with(&gameplay());
    let mut desired = gameplay();
    table_mut(&mut desired, "GamePlay")
        .renamed_columns
        .insert("Score".into(), "Points".into());
    table_mut(&mut desired, "GamePlay").columns[3].name = "Score".into();
    let mut gone = desired.clone();
    let t = table_mut(&mut gone, "GamePlay");
    t.renamed_columns = [("Level".to_string(), "Stage".to_string())].into();
    t.columns.push(crate::model::kusto::Column {
        name: "Level".into(),
        ty: crate::model::ColumnType::String,
    });
    let report = diff_report(&gone, &observe_all(&sandbox, &gone), &options());
    assert_eq!(report.rename_problems.len(), 1, "{report:?}");
    assert_eq!(
        report.rename_problems[0].address,
        "kusto.gamedb.table.GamePlay.column.Level"
    );
    assert!(
        report.rename_problems[0]
            .message
            .contains("renamed from `Stage`, but table `GamePlay` has neither"),
        "{}",
        report.rename_problems[0].message
    );
}

#[test]
fn a_renamed_column_is_renamed_before_its_type_change_and_mapping_update() {
    let sandbox = sandbox_with(&gameplay());
    let mut desired = gameplay();
    let table = table_mut(&mut desired, "GamePlay");
    table
        .renamed_columns
        .insert("Points".into(), "Score".into());
    let score = table
        .columns
        .iter_mut()
        .find(|c| c.name == "Score")
        .expect("Score");
    score.name = "Points".into();
    score.ty = crate::model::ColumnType::Long;
    for m in table.mappings.values_mut() {
        for c in &mut m.columns {
            if c.column == "Score" {
                c.column = "Points".into();
                c.datatype = Some(crate::model::ColumnType::Long);
            }
        }
    }
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(report.rename_problems.is_empty(), "{report:?}");
    assert_eq!(
        summary(&report.changes),
        [
            (
                "kusto.gamedb.table.GamePlay.column.Points".to_string(),
                Action::Update,
                ImpactClass::Restart
            ),
            (
                "kusto.gamedb.table.GamePlay.column.Points".to_string(),
                Action::Update,
                ImpactClass::DataLoss
            ),
            (
                "kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping".to_string(),
                Action::Update,
                ImpactClass::Safe
            ),
        ],
        "no drop of Score, no add of Points"
    );
    assert_eq!(
        report.changes[0].command_texts(),
        [".rename column GamePlay.Score to Points"]
    );
    assert_eq!(
        report.changes[0]
            .previous_address
            .as_ref()
            .map(Address::as_str),
        Some("kusto.gamedb.table.GamePlay.column.Score")
    );
    assert_eq!(
        report.changes[1].command_texts(),
        [".alter column GamePlay.Points type=long"]
    );
    apply_all(&sandbox, &report.changes);
    let after = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(
        after.changes.is_empty() && after.rename_problems.is_empty(),
        "{after:?}"
    );
}

#[test]
fn a_renamed_function_is_created_under_its_new_name_and_the_old_one_dropped() {
    let mut old = with_function("GamePlay | take 1");
    let db = old.databases.get_mut("gamedb").expect("gamedb");
    let mut f = db.functions.remove("RecentPlays").expect("function");
    f.name = "LatestPlays".into();
    db.functions.insert("LatestPlays".into(), f);
    let sandbox = sandbox_with(&old);
    let mut desired = with_function("GamePlay | take 1");
    desired
        .databases
        .get_mut("gamedb")
        .and_then(|db| db.functions.get_mut("RecentPlays"))
        .expect("function")
        .renamed_from = Some("LatestPlays".into());
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(report.rename_problems.is_empty(), "{report:?}");
    assert_eq!(
        summary(&report.changes),
        [(
            "kusto.gamedb.function.RecentPlays".to_string(),
            Action::Update,
            ImpactClass::Restart
        )],
        "one change: no separate create, no prune of the old name"
    );
    let change = &report.changes[0];
    assert_eq!(change.phase, Phase::KustoFunctions);
    assert_eq!(
        change.previous_address.as_ref().map(Address::as_str),
        Some("kusto.gamedb.function.LatestPlays")
    );
    assert_eq!(
        change.command_texts(),
        [
            ".create-or-alter function with (folder = \"Helpers\", docstring = \"Plays since a time [kustoplan:gameplay]\") RecentPlays(since:timespan) {\nGamePlay | take 1\n}",
            ".drop function LatestPlays ifexists"
        ]
    );
    assert!(
        change.summary.contains("Kusto has no function rename"),
        "{}",
        change.summary
    );
    apply_all(&sandbox, &report.changes);
    let observed = observe_all(&sandbox, &desired);
    assert!(
        !observed.databases["gamedb"]
            .functions
            .contains_key("LatestPlays")
    );
    let after = diff_report(&desired, &observed, &pruning());
    assert!(
        after.changes.is_empty() && after.rename_problems.is_empty(),
        "{after:?}"
    );
}

#[test]
fn a_column_of_a_renamed_table_is_renamed_after_the_table_and_before_added_columns() {
    let mut old = gameplay_table_named("Plays");
    table_mut(&mut old, "Plays").columns[3].name = "Points".into();
    for m in table_mut(&mut old, "Plays").mappings.values_mut() {
        m.columns[3].column = "Points".into();
    }
    let sandbox = sandbox_with(&old);
    let mut desired = gameplay();
    let table = table_mut(&mut desired, "GamePlay");
    table.renamed_from = Some("Plays".into());
    table
        .renamed_columns
        .insert("Score".into(), "Points".into());
    table.columns.push(crate::model::kusto::Column {
        name: "Level".into(),
        ty: crate::model::ColumnType::String,
    });
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(report.rename_problems.is_empty(), "{report:?}");
    let commands: Vec<String> = report
        .changes
        .iter()
        .flat_map(Change::command_texts)
        .collect();
    assert_eq!(
        commands[..2],
        [
            ".rename table Plays to GamePlay",
            ".rename column GamePlay.Points to Score",
        ]
    );
    assert_eq!(commands[2], ".alter-merge table GamePlay (Level:string)");
    assert!(
        commands[3].starts_with(".create-or-alter table GamePlay ingestion json mapping"),
        "the mapping is updated to the new column name after the renames: {commands:?}"
    );
    assert_eq!(commands.len(), 4, "{commands:?}");
    assert_eq!(
        report.renamed_tables,
        [RenamedTable {
            database: "gamedb".into(),
            from: "Plays".into(),
            to: "GamePlay".into(),
        }]
    );
    apply_all(&sandbox, &report.changes);
    let after = diff_report(&desired, &observe_all(&sandbox, &desired), &pruning());
    assert!(after.changes.is_empty(), "{after:?}");
}

fn view(name: &str, source: &str, query: &str) -> crate::model::MaterializedView {
    crate::model::MaterializedView {
        name: name.into(),
        source: source.into(),
        query: query.into(),
        owner: Some("gameplay".into()),
        auto_update_schema: Some(false),
        ..Default::default()
    }
}

/// Views against the sandbox: a view over a view is created `on materialized-view` after
/// the one it reads, a plain re-plan is empty, a rename keeps the view, an owned view that
/// is no longer declared goes only with pruning, and a live table's name or a missing
/// source refuses the plan.
#[test]
fn materialized_views_plan_converge_rename_and_prune() {
    let mut desired = gameplay();
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    db.materialized_views.insert(
        "Dedup".into(),
        view(
            "Dedup",
            "GamePlay",
            "GamePlay | summarize take_any(*) by PlayerID, GameID",
        ),
    );
    db.materialized_views.insert(
        "Best".into(),
        view("Best", "Dedup", "Dedup | summarize max(Score) by PlayerID"),
    );
    let sandbox = KustoSandbox::in_memory(&["gamedb".to_string()]).expect("sandbox");
    let changes = diff(&desired, &observe_all(&sandbox, &desired), &options());
    let views: Vec<&Change> = changes
        .iter()
        .filter(|c| c.address.as_str().contains(".materialized_view."))
        .collect();
    assert_eq!(views.len(), 2, "{changes:#?}");
    assert!(
        views[1].command_texts()[0].contains("Best on materialized-view Dedup"),
        "{:?}",
        views[1].command_texts()
    );
    // Best sorts before Dedup but reads it: its phase runs after Dedup's.
    assert!(
        views[0].address.as_str().ends_with(".Dedup")
            && views[1].address.as_str().ends_with(".Best"),
        "{views:#?}"
    );
    apply_all(&sandbox, &changes);
    let again = diff(&desired, &observe_all(&sandbox, &desired), &options());
    assert!(again.is_empty(), "{again:#?}");

    // A rename keeps the view (restart, one command); the rest of the diff sees it renamed.
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    let mut best = db.materialized_views.remove("Best").expect("Best");
    best.name = "TopScores".into();
    best.renamed_from = Some("Best".into());
    db.materialized_views.insert("TopScores".into(), best);
    let renamed = diff(&desired, &observe_all(&sandbox, &desired), &options());
    assert_eq!(
        summary(&renamed),
        [(
            "kusto.gamedb.materialized_view.TopScores".to_string(),
            Action::Update,
            ImpactClass::Restart
        )]
    );
    assert_eq!(
        renamed[0].command_texts(),
        [".rename materialized-view Best to TopScores"]
    );
    apply_all(&sandbox, &renamed);

    // No longer declared: kept without pruning, dropped (data-loss) with it.
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    db.materialized_views.remove("TopScores");
    let kept = diff(&desired, &observe_all(&sandbox, &desired), &options());
    assert!(kept.is_empty(), "{kept:#?}");
    let pruning = DiffOptions {
        prune: true,
        ..options()
    };
    let pruned = diff(&desired, &observe_all(&sandbox, &desired), &pruning);
    assert_eq!(
        summary(&pruned),
        [(
            "kusto.gamedb.materialized_view.TopScores".to_string(),
            Action::Delete,
            ImpactClass::DataLoss
        )]
    );
    assert_eq!(
        pruned[0].command_texts(),
        [".drop materialized-view TopScores"]
    );

    // A live table's name, or a source nobody has, refuses the plan.
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    db.materialized_views.insert(
        "Elsewhere".into(),
        view("Elsewhere", "Nope", "Nope | summarize count() by A"),
    );
    run(&sandbox, ".create table Clash (A:int)");
    db.materialized_views.insert(
        "Clash".into(),
        view(
            "Clash",
            "GamePlay",
            "GamePlay | summarize count() by PlayerID",
        ),
    );
    let report = diff_report(&desired, &observe_all(&sandbox, &desired), &options());
    let problems: Vec<&str> = report
        .materialized_view_problems
        .iter()
        .map(|p| p.address.as_str())
        .collect();
    assert_eq!(
        problems,
        [
            "kusto.gamedb.materialized_view.Clash",
            "kusto.gamedb.materialized_view.Elsewhere"
        ]
    );
    assert!(
        report.materialized_view_problems[0]
            .message
            .contains("has the name of a live table")
    );
}

/// Every Kusto change carries its before and after as JSON with named fields, built from the
/// same typed values as the text: what `plan --format json` gives programs.
#[test]
fn changes_carry_their_states_as_json_objects() {
    use serde_json::json;
    let state = |changes: &[Change], address: &str| {
        let c = changes
            .iter()
            .find(|c| c.address == address)
            .unwrap_or_else(|| panic!("no change at {address}: {:?}", summary(changes)));
        assert_eq!(c.before.is_some(), c.before_state.is_some(), "{address}");
        assert_eq!(c.after.is_some(), c.after_state.is_some(), "{address}");
        (c.before_state.clone(), c.after_state.clone())
    };
    let app = "aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2";

    // From nothing: everything is created, with no before.
    let created = diff(&gameplay(), &KustoState::default(), &options());
    let gameplay_columns = json!([
        {"name": "PlayerID", "type": "int"},
        {"name": "GameID", "type": "int"},
        {"name": "Win", "type": "long"},
        {"name": "Score", "type": "int"},
        {"name": "EventTime", "type": "datetime"},
    ]);
    assert_eq!(
        state(&created, "kusto.gamedb.table.GamePlay"),
        (None, Some(json!({"columns": gameplay_columns})))
    );
    let (_, mapping) = state(
        &created,
        "kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping",
    );
    assert_eq!(
        mapping.as_ref().map(|m| m[0].clone()),
        Some(
            json!({"column": "PlayerID", "datatype": "int", "Properties": {"Path": "$.playerId"}})
        )
    );
    assert_eq!(mapping.map(|m| m.as_array().map(Vec::len)), Some(Some(5)));
    assert_eq!(
        state(
            &created,
            "kusto.gamedb.table.GamePlay.policy.ingestionbatching"
        ),
        (
            None,
            Some(json!({
                "MaximumBatchingTimeSpan": "00:00:10",
                "MaximumNumberOfItems": 5,
                "MaximumRawDataSizeMB": 100
            }))
        )
    );
    assert_eq!(
        state(&created, &format!("kusto.gamedb.role.admins.{app}")),
        (
            None,
            Some(json!({"role": "admins", "principal": app, "notes": "AAD App"}))
        )
    );

    // Against a live copy that differs in every kind of object.
    let mut desired = with_function("GamePlay\n| where EventTime > ago(since)\n");
    let mut live = as_observed(&desired);
    {
        let db = desired.databases.get_mut("gamedb").expect("gamedb");
        db.materialized_views.insert(
            "Wins".into(),
            view(
                "Wins",
                "GamePlay",
                "GamePlay | summarize count() by PlayerID",
            ),
        );
        db.functions
            .get_mut("RecentPlays")
            .expect("function")
            .folder = "Queries".into();
        let table = db.tables.get_mut("GamePlay").expect("table");
        table.streaming = Some(true);
        table.retention = Some(RetentionPolicy {
            soft_delete: Timespan::from_secs(30 * 86_400),
            recoverable: true,
        });
        table.folder = "Games".into();
        table.principals.insert(
            RoleKey {
                role: "ingestors".into(),
                fqn: app.into(),
            },
            Some("sink".into()),
        );
    }
    {
        let table = table_mut(&mut live, "GamePlay");
        table.columns[2].ty = crate::model::ColumnType::Int;
        let mapping = table
            .mappings
            .values_mut()
            .next()
            .expect("the gameplay mapping");
        mapping.columns[3].properties.insert("Path", "$.points");
        table.principals.insert(
            RoleKey {
                role: "ingestors".into(),
                fqn: app.into(),
            },
            None,
        );
    }
    let changes = diff(&desired, &live, &options());
    assert_eq!(
        state(&changes, "kusto.gamedb.table.GamePlay.column.Win"),
        (
            Some(json!({"name": "Win", "type": "int"})),
            Some(json!({"name": "Win", "type": "long"}))
        )
    );
    let (before, after) = state(
        &changes,
        "kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping",
    );
    assert_eq!(
        before.map(|m| m[3].clone()),
        Some(json!({"column": "Score", "datatype": "int", "Properties": {"Path": "$.points"}}))
    );
    assert_eq!(
        after.map(|m| m[3].clone()),
        Some(json!({"column": "Score", "datatype": "int", "Properties": {"Path": "$.score"}}))
    );
    assert_eq!(
        state(&changes, "kusto.gamedb.table.GamePlay.folder"),
        (
            Some(json!({"folder": ""})),
            Some(json!({"folder": "Games"}))
        )
    );
    assert_eq!(
        state(
            &changes,
            "kusto.gamedb.table.GamePlay.policy.streamingingestion"
        ),
        (
            Some(json!({"enabled": null, "inherited": false})),
            Some(json!({"enabled": true, "inherited": false}))
        )
    );
    assert_eq!(
        state(&changes, "kusto.gamedb.table.GamePlay.policy.retention"),
        (
            None,
            Some(json!({"SoftDeletePeriod": "30.00:00:00", "Recoverability": "Enabled"}))
        )
    );
    assert_eq!(
        state(
            &changes,
            &format!("kusto.gamedb.table.GamePlay.role.ingestors.{app}")
        ),
        (
            Some(json!({"role": "ingestors", "principal": app, "notes": null})),
            Some(json!({"role": "ingestors", "principal": app, "notes": "sink"}))
        )
    );
    let function = |folder: &str| {
        json!({
            "name": "RecentPlays",
            "parameters": [{"name": "since", "type": "timespan"}],
            "body": "GamePlay\n| where EventTime > ago(since)",
            "folder": folder,
            "docstring": "Plays since a time [kustoplan:gameplay]",
        })
    };
    assert_eq!(
        state(&changes, "kusto.gamedb.function.RecentPlays"),
        (Some(function("Helpers")), Some(function("Queries")))
    );
    assert_eq!(
        state(&changes, "kusto.gamedb.materialized_view.Wins"),
        (
            None,
            Some(json!({
                "name": "Wins",
                "source": "GamePlay",
                "query": "GamePlay | summarize count() by PlayerID",
                "lookback": null,
                "auto_update_schema": false,
                "folder": "",
                "docstring": "[kustoplan:gameplay]",
            }))
        )
    );
}

/// A rename shows the object under both names in its states (`name` differs, the rest is the
/// same object), and database-level policies carry their states like table-level ones.
#[test]
fn renames_and_database_policies_carry_their_states_as_json_objects() {
    use serde_json::json;
    let live = as_observed(&gameplay_table_named("Plays"));
    let mut desired = gameplay();
    let table = table_mut(&mut desired, "GamePlay");
    table.renamed_from = Some("Plays".into());
    table
        .renamed_columns
        .insert("Points".into(), "Score".into());
    if let Some(score) = table.columns.iter_mut().find(|c| c.name == "Score") {
        score.name = "Points".into();
    }
    for m in table.mappings.values_mut() {
        for c in &mut m.columns {
            if c.column == "Score" {
                c.column = "Points".into();
            }
        }
    }
    let db = desired.databases.get_mut("gamedb").expect("gamedb");
    db.streaming = true;
    db.caching = Some(CachingPolicy {
        hot: Timespan::from_secs(7 * 86_400),
        hot_windows: Vec::new(),
    });
    let report = diff_report(&desired, &live, &options());
    assert!(report.rename_problems.is_empty(), "{report:?}");
    let states = |address: &str| {
        let c = report
            .changes
            .iter()
            .find(|c| c.address == address)
            .unwrap_or_else(|| panic!("no change at {address}: {:?}", summary(&report.changes)));
        (c.before_state.clone(), c.after_state.clone())
    };
    let (before, after) = states("kusto.gamedb.table.GamePlay");
    assert_eq!(
        (
            before.as_ref().map(|b| &b["name"]),
            after.as_ref().map(|a| &a["name"])
        ),
        (Some(&json!("Plays")), Some(&json!("GamePlay")))
    );
    assert_eq!(
        before.map(|b| b["columns"][3].clone()),
        Some(json!({"name": "Score", "type": "int"}))
    );
    assert_eq!(
        states("kusto.gamedb.table.GamePlay.column.Points"),
        (
            Some(json!({"name": "Score", "type": "int"})),
            Some(json!({"name": "Points", "type": "int"}))
        )
    );
    assert_eq!(
        states("kusto.gamedb.policy.streamingingestion"),
        (
            Some(json!({"enabled": false, "inherited": false})),
            Some(json!({"enabled": true, "inherited": false}))
        )
    );
    assert_eq!(
        states("kusto.gamedb.policy.caching"),
        (
            None,
            Some(json!({
                "DataHotSpan": {"Value": "7.00:00:00"},
                "IndexHotSpan": {"Value": "7.00:00:00"}
            }))
        )
    );
}

/// A database large enough for its tables to be diffed on two threads gives the changes, in
/// the same order, and the count of principals left, that its parts give diffed one by one
/// (each below the split).
#[test]
fn a_large_database_diffs_as_its_parts_do() {
    let desired = gameplay();
    let template = desired.databases["gamedb"]
        .tables
        .values()
        .next()
        .expect("a table")
        .clone();
    let count = SPLIT_TABLE_DIFF_AT + 500;
    let table = |n: usize| TableState {
        name: format!("T{n:05}"),
        ..template.clone()
    };
    let database = |tables: &mut dyn Iterator<Item = TableState>| DatabaseState {
        name: "big".to_string(),
        tables: tables.map(|t| (t.name.clone(), t)).collect(),
        ..Default::default()
    };
    let state = |db: DatabaseState| KustoState {
        databases: [("big".to_string(), db)].into(),
    };
    let want = database(&mut (0..count).map(table));
    let mut have = as_observed(&state(want.clone()))
        .databases
        .remove("big")
        .expect("big");
    // Changes and left principals on both sides of the split.
    for n in [7, count - 3] {
        have.tables.remove(&format!("T{n:05}"));
    }
    for n in [100, count / 2, count - 100] {
        let t = have.tables.get_mut(&format!("T{n:05}")).expect("table");
        t.docstring = "changed live".to_string();
    }
    let viewer =
        crate::model::PrincipalRef::parse_fqn("aaduser=someone@example.com").expect("a principal");
    for n in [200, count - 200] {
        let t = have.tables.get_mut(&format!("T{n:05}")).expect("table");
        t.principals
            .insert(crate::model::kusto::RoleKey::new("viewers", &viewer), None);
    }
    let whole = diff_report(&state(want.clone()), &state(have.clone()), &options());

    let mut parts = KustoDiff::default();
    let names: Vec<&String> = want.tables.keys().collect();
    for chunk in names.chunks(SPLIT_TABLE_DIFF_AT - 1) {
        let part = |db: &DatabaseState| {
            database(
                &mut chunk
                    .iter()
                    .filter_map(|name| db.tables.get(*name).cloned()),
            )
        };
        let report = diff_report(&state(part(&want)), &state(part(&have)), &options());
        parts.changes.extend(report.changes);
        parts.undeclared_principals_left += report.undeclared_principals_left;
    }
    // Each report is in apply order; the parts' concatenation is put in it too.
    parts
        .changes
        .sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
    assert_eq!(whole.undeclared_principals_left, 2);
    assert_eq!(
        whole.undeclared_principals_left,
        parts.undeclared_principals_left
    );
    assert_eq!(summary(&whole.changes), summary(&parts.changes));
    assert_eq!(whole.changes, parts.changes);
    assert!(whole.changes.len() >= 5, "{}", whole.changes.len());
}

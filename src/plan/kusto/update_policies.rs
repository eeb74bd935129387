//! Update policies in the plan: a declared policy is set with `.alter table T policy update`
//! when its entries differ from the live ones (compared normalised, in canonical order); an
//! undeclared one is left alone, unless pruning and the table is owned by this stack, when it
//! is deleted. The checks that refuse a plan run here too, on what the plan leaves behind:
//! every declared entry's source table exists (declared or live), the tables' policies form
//! no cycle (declared policies, and live ones of tables whose policy is not declared), and an
//! entry's query returns the target table's columns, when the cluster could type it (see
//! [`crate::kusto::observe::schema_probes`]): checked for the entries the plan sets, and for
//! live ones whose query calls a function the plan creates or changes (the service checks a
//! policy when it is set, not when a function it calls changes).
//!
//! Impact: setting a policy on a table that has none only adds rows (`safe`); changing or
//! removing one changes which rows land in the target from then on, or stops them (a query
//! that now drops rows, a disabled or removed entry): `data-loss`, as dropping a mapping that
//! ingestion names is.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, DiffOptions, json_side};
use crate::kusto::observe::{changed_function_names, schema_probe, update_policies_to_check};
use crate::kusto::render;
use crate::model::kusto::{Column, DatabaseState, KustoState, TableState};
use crate::model::sink::routes_in;
use crate::model::{QuerySchema, UpdatePolicy, update_policies_json};
use crate::plan::{Action, Address, Change, ImpactClass, Operation, Phase};

/// An update policy the plan cannot set as declared: the plan is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePolicyProblem {
    /// The address of the policy (`kusto.DB.table.T.policy.update`).
    pub address: Address,
    /// What is wrong and what to do.
    pub message: String,
}

/// `kusto.DB.table.T.policy.update`.
pub fn policy_address(db: &str, table: &str) -> Address {
    Address::kusto_table(db, table).policy("update")
}

/// The changes and problems of every table's update policy in one database.
pub(super) fn plan(
    ctx: &mut Ctx<'_>,
    want: &DatabaseState,
    have: &DatabaseState,
    options: &DiffOptions,
    problems: &mut Vec<UpdatePolicyProblem>,
) {
    let changed = changed_function_names(want, have);
    for (name, table) in &want.tables {
        let live = have.tables.get(name);
        let owned = live.is_some_and(|l| options.owner.is_some() && l.owner == options.owner);
        let checks = check_entries(want, have, table, live, &changed, problems);
        set(ctx, table, live, options.prune && owned, &checks);
    }
    problems.extend(cycles(want, have));
}

/// One table's change, if its policy differs. `notes` say what the schema check found for
/// the entries the plan sets.
fn set(
    ctx: &mut Ctx<'_>,
    want: &TableState,
    have: Option<&TableState>,
    prune: bool,
    notes: &[String],
) {
    let live = have
        .and_then(|h| h.update_policies.clone())
        .unwrap_or_default();
    let declared = match &want.update_policies {
        Some(entries) => entries.clone(),
        None if prune && !live.is_empty() => Vec::new(),
        None => return,
    };
    if declared == live {
        return;
    }
    let name = want.name.as_str();
    let sources = |entries: &[UpdatePolicy]| {
        let names: BTreeSet<&str> = entries.iter().map(|e| e.source.as_str()).collect();
        names.into_iter().collect::<Vec<_>>().join(", ")
    };
    let (action, impact, mut summary, command) = if declared.is_empty() {
        (
            Action::Delete,
            ImpactClass::DataLoss,
            format!(
                "remove update policy: rows ingested into {} no longer land in {name}{}",
                sources(&live),
                if want.update_policies.is_none() {
                    " (not declared; the table is owned by this stack and pruning is on)"
                } else {
                    ""
                }
            ),
            render::delete_update_policy(name),
        )
    } else if live.is_empty() {
        (
            Action::Create,
            ImpactClass::Safe,
            format!(
                "set update policy: rows ingested into {} also land in {name} ({})",
                sources(&declared),
                entries_text(declared.len())
            ),
            render::alter_update_policy(name, &declared),
        )
    } else {
        (
            Action::Update,
            ImpactClass::DataLoss,
            format!(
                "change update policy ({}): rows ingested into {} from now on land in {name} \
                 as the new entries say, or no longer land",
                entries_text(declared.len()),
                sources(&declared.iter().chain(&live).cloned().collect::<Vec<_>>())
            ),
            render::alter_update_policy(name, &declared),
        )
    };
    for note in notes {
        summary.push_str("; ");
        summary.push_str(note);
    }
    let side = |entries: &[UpdatePolicy]| {
        (!entries.is_empty()).then(|| json_side(update_policies_json(entries)))
    };
    ctx.push(
        policy_address(ctx.db, name),
        action,
        impact,
        summary,
        side(&live),
        side(&declared),
        vec![command],
        Phase::KustoUpdatePolicies,
    );
}

fn entries_text(n: usize) -> String {
    if n == 1 {
        "1 entry".to_string()
    } else {
        format!("{n} entries")
    }
}

/// Checks a table's declared entries: sources must exist (a problem otherwise); the query of
/// each entry the plan sets must return the table's columns where the cluster typed it (a
/// problem otherwise). Returns notes for the entries whose schema could not be checked.
/// `changed` names the functions the plan creates or replaces.
fn check_entries(
    want_db: &DatabaseState,
    have_db: &DatabaseState,
    want: &TableState,
    have: Option<&TableState>,
    changed: &[&str],
    problems: &mut Vec<UpdatePolicyProblem>,
) -> Vec<String> {
    if want.update_policies.as_deref().is_none_or(<[_]>::is_empty) {
        // Most tables declare no policy: nothing to check, and no address to build.
        return Vec::new();
    }
    let address = policy_address(&want_db.name, &want.name);
    let mut notes = Vec::new();
    for entry in want.update_policies.iter().flatten() {
        if !want_db.tables.contains_key(&entry.source)
            && !have_db.tables.contains_key(&entry.source)
        {
            problems.push(UpdatePolicyProblem {
                address: address.clone(),
                message: format!(
                    "the update policy's source table `{}` is neither declared nor in database `{}`",
                    entry.source, want_db.name
                ),
            });
        }
    }
    let live = have
        .and_then(|h| h.update_policies.as_deref())
        .unwrap_or(&[]);
    for entry in update_policies_to_check(changed, have_db, want) {
        // A live entry is checked because a function it calls changes: it has no change of
        // its own to carry a note, so only a known mismatch is said (as a problem).
        let set_by_plan = !live.contains(entry);
        let Some(probe) = schema_probe(want_db, have_db, entry) else {
            if !set_by_plan {
                continue;
            }
            if have_db.tables.contains_key(&entry.source)
                || want_db.tables.contains_key(&entry.source)
            {
                notes.push(format!(
                    "output schema of the query from {} not checked: the source table does not \
                     exist yet (the service checks it when the policy is set)",
                    entry.source
                ));
            }
            continue;
        };
        match have_db.query_schemas.get(&probe) {
            Some(QuerySchema::Columns(columns)) => {
                if !same_columns(columns, &want.columns) {
                    problems.push(UpdatePolicyProblem {
                        address: address.clone(),
                        message: format!(
                            "the query `{}` returns {} but table `{}` has {}{}: the service \
                             refuses an update policy whose query's column names, types and \
                             order differ from its table's",
                            entry.query,
                            columns_text(columns),
                            want.name,
                            columns_text(&want.columns),
                            if set_by_plan {
                                ""
                            } else {
                                " once the plan changes the functions it calls"
                            }
                        ),
                    });
                }
            }
            Some(QuerySchema::Unknown(_)) | None if !set_by_plan => {}
            Some(QuerySchema::Unknown(why)) => notes.push(format!(
                "output schema of the query from {} not checked: the cluster could not type \
                 it ({why})",
                entry.source
            )),
            None => notes.push(format!(
                "output schema of the query from {} not checked: it was not asked for",
                entry.source
            )),
        }
    }
    notes
}

fn same_columns(a: &[Column], b: &[Column]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.name == y.name && x.ty == y.ty)
}

fn columns_text(columns: &[Column]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty))
        .collect();
    format!("({})", list.join(", "))
}

/// Cycles of enabled update policies once the plan is applied: each table's declared policy,
/// or its live one when it declares none. Only cycles through a declared policy are the
/// plan's to refuse; one the manifests do not touch is left as it is live.
fn cycles(want: &DatabaseState, have: &DatabaseState) -> Vec<UpdatePolicyProblem> {
    let mut feeds: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let declared = |t: &str| {
        want.tables
            .get(t)
            .is_some_and(|t| t.update_policies.is_some())
    };
    for (target, entries) in policies_after(Some(want), Some(have)) {
        for e in entries
            .iter()
            .filter(|e| e.enabled && !e.source_is_wildcard)
        {
            feeds.entry(e.source.as_str()).or_default().insert(target);
        }
    }
    let mut found: BTreeSet<Vec<&str>> = BTreeSet::new();
    for start in feeds.keys() {
        let mut path = vec![*start];
        walk(&feeds, &mut path, &mut found);
    }
    found
        .into_iter()
        .filter_map(|cycle| {
            let at = cycle.iter().find(|t| declared(t))?;
            let mut shown: Vec<&str> = cycle.clone();
            shown.push(cycle[0]);
            Some(UpdatePolicyProblem {
                address: policy_address(&want.name, at),
                message: format!(
                    "update policies form a cycle: {} (rows ingested into any of these tables \
                     would be fed around it; make one table's policy read another source)",
                    shown.join(" -> ")
                ),
            })
        })
        .collect()
}

/// Depth-first from the last table of `path`; every cycle back to its first table is added,
/// rotated to start at its smallest name so each is reported once.
fn walk<'a>(
    feeds: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    path: &mut Vec<&'a str>,
    found: &mut BTreeSet<Vec<&'a str>>,
) {
    let Some(last) = path.last().copied() else {
        return;
    };
    for next in feeds.get(last).into_iter().flatten() {
        if *next == path[0] {
            let min = path
                .iter()
                .enumerate()
                .min_by_key(|(_, t)| **t)
                .map_or(0, |(i, _)| i);
            let mut cycle = path[min..].to_vec();
            cycle.extend_from_slice(&path[..min]);
            found.insert(cycle);
        } else if !path.contains(next) && *next > path[0] {
            path.push(next);
            walk(feeds, path, found);
            path.pop();
        }
    }
}

/// Says, in the summary of every connector change that writes a route into a table with
/// update policies, which tables that route's rows also land in (through the policies,
/// transitively): a reviewer sees everything a route feeds. The policies are the ones the plan
/// leaves: each table's declared policy, else its live one in `observed`.
pub fn note_fed_tables(changes: &mut [Change], desired: &KustoState, observed: &KustoState) {
    // Built once per database a route names: with many routes and tables, walking every
    // table's policies for each route would cost routes × tables.
    let mut feeds_by_db: BTreeMap<String, Feeds> = BTreeMap::new();
    for change in changes.iter_mut() {
        let config = change.operations.iter().find_map(|op| match op {
            Operation::PutConnectorConfig { config, .. }
            | Operation::CreateConnector { config, .. } => Some(config),
            _ => None,
        });
        let Some(routes) = config.and_then(routes_in) else {
            continue;
        };
        let mut notes = Vec::new();
        for route in routes {
            let feeds = feeds_by_db.entry(route.db.to_string()).or_insert_with(|| {
                Feeds::after(
                    desired.databases.get(&route.db),
                    observed.databases.get(&route.db),
                )
            });
            let fed = feeds.fed_tables(&route.table);
            if !fed.is_empty() {
                notes.push(format!(
                    "route {} -> {}.{} also feeds {} through update policies",
                    route.topic,
                    route.db,
                    route.table,
                    fed.join(", ")
                ));
            }
        }
        for note in notes {
            change.summary.push_str("; ");
            change.summary.push_str(&note);
        }
    }
}

/// Which tables each table's rows are copied into by enabled update policies, once the plan is
/// applied (see [`policies_after`]): source table -> target tables.
struct Feeds(BTreeMap<String, BTreeSet<String>>);

impl Feeds {
    fn after(want: Option<&DatabaseState>, have: Option<&DatabaseState>) -> Feeds {
        let mut feeds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (target, entries) in policies_after(want, have) {
            for e in entries {
                if e.enabled && !e.source_is_wildcard {
                    feeds
                        .entry(e.source.clone())
                        .or_default()
                        .insert(target.to_string());
                }
            }
        }
        Feeds(feeds)
    }

    /// The tables rows ingested into `table` also land in, following the policies from table
    /// to table, in name order.
    fn fed_tables(&self, table: &str) -> Vec<String> {
        let mut fed: BTreeSet<&str> = BTreeSet::new();
        let mut queue = vec![table];
        while let Some(source) = queue.pop() {
            for target in self.0.get(source).into_iter().flatten() {
                if target != table && fed.insert(target) {
                    queue.push(target);
                }
            }
        }
        fed.into_iter().map(str::to_string).collect()
    }
}

/// Each table's update policy once the plan is applied: its declared one, else its live one.
fn policies_after<'a>(
    want: Option<&'a DatabaseState>,
    have: Option<&'a DatabaseState>,
) -> BTreeMap<&'a str, &'a [UpdatePolicy]> {
    let mut out = BTreeMap::new();
    for (name, t) in have.into_iter().flat_map(|h| &h.tables) {
        if let Some(entries) = &t.update_policies {
            out.insert(name.as_str(), entries.as_slice());
        }
    }
    for (name, t) in want.into_iter().flat_map(|w| &w.tables) {
        if let Some(entries) = &t.update_policies {
            out.insert(name.as_str(), entries.as_slice());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{ColumnType, Function};
    use crate::plan::kusto::{KustoDiff, diff_report};
    use crate::providers::kusto::transport::KustoTransport;
    use crate::sandbox::kusto::{Caller, KustoSandbox};

    fn col(name: &str, ty: ColumnType) -> Column {
        Column {
            name: name.into(),
            ty,
        }
    }

    fn table(name: &str, columns: Vec<Column>, policies: Option<Vec<UpdatePolicy>>) -> TableState {
        TableState {
            name: name.into(),
            columns,
            owner: Some("stack".into()),
            update_policies: policies,
            ..Default::default()
        }
    }

    fn entry(source: &str, query: &str) -> UpdatePolicy {
        UpdatePolicy::new(source, query, true, true, false, None)
    }

    fn function(name: &str, body: &str) -> Function {
        Function {
            name: name.into(),
            parameters: Vec::new(),
            body: body.into(),
            docstring: String::new(),
            folder: String::new(),
            owner: Some("stack".into()),
            skip_validation: false,
            renamed_from: None,
        }
    }

    /// Raw (Payload:dynamic) feeds Parsed (Id:long, Name:string) through ParseRaw().
    fn desired(body: &str) -> KustoState {
        let db = DatabaseState {
            name: "db".into(),
            tables: [
                table("Raw", vec![col("Payload", ColumnType::Dynamic)], None),
                table(
                    "Parsed",
                    vec![col("Id", ColumnType::Long), col("Name", ColumnType::String)],
                    Some(vec![entry("Raw", "ParseRaw()")]),
                ),
            ]
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect(),
            functions: [("ParseRaw".to_string(), function("ParseRaw", body))].into(),
            ..Default::default()
        };
        KustoState {
            databases: [("db".to_string(), db)].into(),
        }
    }

    const GOOD: &str = "Raw | project Id = tolong(Payload.id), Name = tostring(Payload.name)";

    fn options(prune: bool) -> DiffOptions {
        DiffOptions {
            prune,
            owner: Some("stack".into()),
        }
    }

    /// Observes through the provider (bulk reads and the getschema probes) on the sandbox.
    fn observe(sandbox: &Arc<KustoSandbox>, desired: &KustoState) -> KustoState {
        let transport = Arc::new(KustoTransport::new(sandbox.clone()));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(crate::providers::kusto::observe::observe(
                &transport, desired,
            ))
            .expect("observe")
    }

    fn apply(sandbox: &KustoSandbox, changes: &[Change]) {
        for c in changes {
            for command in &c.command_texts() {
                sandbox
                    .execute("db", command, &Caller::cluster_admin("aaduser=me"))
                    .unwrap_or_else(|e| panic!("{command}: {e:?}"));
            }
        }
    }

    fn sandbox() -> Arc<KustoSandbox> {
        Arc::new(KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox"))
    }

    fn plan(sandbox: &Arc<KustoSandbox>, desired: &KustoState, prune: bool) -> KustoDiff {
        diff_report(desired, &observe(sandbox, desired), &options(prune))
    }

    #[test]
    fn from_empty_the_function_comes_before_the_policy_and_a_replan_is_empty() {
        let s = sandbox();
        let want = desired(GOOD);
        let report = plan(&s, &want, false);
        assert!(report.update_policy_problems.is_empty());
        let addresses: Vec<&str> = report.changes.iter().map(|c| c.address.as_str()).collect();
        let at = |a: &str| addresses.iter().position(|x| *x == a).expect(a);
        let policy = at("kusto.db.table.Parsed.policy.update");
        assert!(at("kusto.db.function.ParseRaw") < policy);
        assert!(at("kusto.db.table.Raw") < policy);
        let change = &report.changes[policy];
        assert_eq!(
            (change.action, change.impact),
            (Action::Create, ImpactClass::Safe)
        );
        assert!(
            change
                .summary
                .contains("rows ingested into Raw also land in Parsed")
                && change
                    .summary
                    .contains("not checked: the source table does not exist yet"),
            "{}",
            change.summary
        );
        assert_eq!(
            change.command_texts(),
            vec![
                r#".alter table Parsed policy update "[{\"IsEnabled\":true,\"Source\":\"Raw\",\"Query\":\"ParseRaw()\",\"IsTransactional\":true,\"PropagateIngestionProperties\":false}]""#
            ]
        );
        apply(&s, &report.changes);
        let again = plan(&s, &want, false);
        assert_eq!(again.changes, Vec::new());
        assert!(again.update_policy_problems.is_empty());
        // Steady state sends no getschema probe.
        assert!(observe(&s, &want).databases["db"].query_schemas.is_empty());
    }

    #[test]
    fn a_query_whose_columns_differ_from_the_table_is_a_problem() {
        let s = sandbox();
        apply(&s, &plan(&s, &desired(GOOD), false).changes);
        // The function changes in the same plan: the probe types the declared body.
        let bad = "Raw | project Id = tostring(Payload.id), Name = tostring(Payload.name)";
        let mut want = desired(bad);
        let db = want.databases.get_mut("db").expect("db");
        db.tables.get_mut("Parsed").expect("Parsed").update_policies =
            Some(vec![UpdatePolicy::new(
                "Raw",
                "ParseRaw()",
                true,
                false,
                false,
                None,
            )]);
        let report = plan(&s, &want, false);
        assert_eq!(
            report.update_policy_problems,
            vec![UpdatePolicyProblem {
                address: "kusto.db.table.Parsed.policy.update".parse().expect("address"),
                message: "the query `ParseRaw()` returns (Id:string, Name:string) but table `Parsed` has (Id:long, Name:string): the service refuses an update policy whose query's column names, types and order differ from its table's".into(),
            }]
        );
    }

    #[test]
    fn changing_or_removing_a_policy_is_data_loss_and_undeclared_ones_are_left_alone() {
        let s = sandbox();
        apply(&s, &plan(&s, &desired(GOOD), false).changes);
        let mut want = desired(GOOD);
        fn parsed(w: &mut KustoState) -> &mut TableState {
            w.databases
                .get_mut("db")
                .and_then(|d| d.tables.get_mut("Parsed"))
                .expect("Parsed")
        }
        parsed(&mut want).update_policies = Some(vec![UpdatePolicy::new(
            "Raw",
            "ParseRaw()",
            false,
            true,
            false,
            None,
        )]);
        let report = plan(&s, &want, false);
        let c = &report.changes[0];
        assert_eq!(
            (report.changes.len(), c.action, c.impact),
            (1, Action::Update, ImpactClass::DataLoss)
        );
        assert!(report.update_policy_problems.is_empty());
        let policy = |enabled: bool| {
            serde_json::json!([{
                "IsEnabled": enabled,
                "Source": "Raw",
                "Query": "ParseRaw()",
                "IsTransactional": true,
                "PropagateIngestionProperties": false
            }])
        };
        assert_eq!(
            (c.before_state.clone(), c.after_state.clone()),
            (Some(policy(true)), Some(policy(false))),
            "the service's JSON array, as the text shows it"
        );
        parsed(&mut want).update_policies = Some(Vec::new());
        let report = plan(&s, &want, false);
        let c = &report.changes[0];
        assert_eq!(
            (c.action, c.impact, c.command_texts()),
            (
                Action::Delete,
                ImpactClass::DataLoss,
                vec![".delete table Parsed policy update".to_string()]
            )
        );
        assert_eq!(c.after_state, None);
        parsed(&mut want).update_policies = None;
        assert_eq!(plan(&s, &want, false).changes, Vec::new());
        let pruned = plan(&s, &want, true);
        assert_eq!(
            pruned
                .changes
                .iter()
                .map(|c| (c.address.as_str(), c.action))
                .collect::<Vec<_>>(),
            vec![("kusto.db.table.Parsed.policy.update", Action::Delete)]
        );
    }

    #[test]
    fn a_cycle_across_declared_and_live_policies_is_a_problem() {
        let s = sandbox();
        apply(&s, &plan(&s, &desired(GOOD), false).changes);
        let mut want = desired(GOOD);
        // Parsed keeps its live policy (not declared); Raw now reads Parsed.
        let db = want.databases.get_mut("db").expect("db");
        db.tables.get_mut("Parsed").expect("Parsed").update_policies = None;
        db.tables.get_mut("Raw").expect("Raw").update_policies = Some(vec![entry(
            "Parsed",
            "Parsed | project Payload = todynamic(Name)",
        )]);
        let report = plan(&s, &want, false);
        assert_eq!(
            report
                .update_policy_problems
                .iter()
                .map(|p| (p.address.as_str(), p.message.as_str()))
                .collect::<Vec<_>>(),
            vec![(
                "kusto.db.table.Raw.policy.update",
                "update policies form a cycle: Parsed -> Raw -> Parsed (rows ingested into any of these tables would be fed around it; make one table's policy read another source)"
            )]
        );
    }

    #[test]
    fn a_source_neither_declared_nor_live_is_a_problem() {
        let s = sandbox();
        let mut want = desired(GOOD);
        let db = want.databases.get_mut("db").expect("db");
        db.tables.get_mut("Parsed").expect("Parsed").update_policies =
            Some(vec![entry("Missing", "Missing")]);
        let report = plan(&s, &want, false);
        assert_eq!(
            report.update_policy_problems,
            vec![UpdatePolicyProblem {
                address: "kusto.db.table.Parsed.policy.update".parse().expect("address"),
                message: "the update policy's source table `Missing` is neither declared nor in database `db`".into(),
            }]
        );
    }

    #[test]
    fn a_route_into_a_source_table_is_shown_feeding_every_table_downstream() {
        let mut want = desired(GOOD);
        let db = want.databases.get_mut("db").expect("db");
        db.tables.insert(
            "Audit".into(),
            table(
                "Audit",
                vec![col("Id", ColumnType::Long), col("Name", ColumnType::String)],
                Some(vec![entry("Parsed", "Parsed")]),
            ),
        );
        let config: std::collections::BTreeMap<String, String> = [(
            crate::model::sink::key::ROUTES.to_string(),
            r#"[{"topic":"raw","db":"db","table":"Raw","format":"json"},{"topic":"other","db":"db","table":"Audit","format":"json"}]"#
                .to_string(),
        )]
        .into();
        let mut changes = vec![Change {
            address: "connect.c.connector.sink".parse().expect("address"),
            action: Action::Create,
            impact: ImpactClass::Safe,
            summary: "create Kusto sink connector sink with 2 routes".into(),
            before: None,
            after: None,
            before_state: None,
            after_state: None,
            target: crate::plan::Target::Connect {
                cluster: "c".into(),
            },
            kusto_commands: Vec::new(),
            operations: vec![Operation::PutConnectorConfig {
                name: "sink".into(),
                config,
            }],
            phase: Phase::Connectors,
            previous_address: None,
        }];
        note_fed_tables(&mut changes, &want, &KustoState::default());
        assert_eq!(
            changes[0].summary,
            "create Kusto sink connector sink with 2 routes; route raw -> db.Raw also feeds Audit, Parsed through update policies"
        );
    }

    #[test]
    fn a_function_change_that_breaks_a_live_policy_is_a_problem() {
        let s = sandbox();
        apply(&s, &plan(&s, &desired(GOOD), false).changes);
        let bad = "Raw | project Id = tolong(Payload.id)";
        let report = plan(&s, &desired(bad), false);
        assert_eq!(
            report.update_policy_problems,
            vec![UpdatePolicyProblem {
                address: "kusto.db.table.Parsed.policy.update".parse().expect("address"),
                message: "the query `ParseRaw()` returns (Id:long) but table `Parsed` has (Id:long, Name:string) once the plan changes the functions it calls: the service refuses an update policy whose query's column names, types and order differ from its table's".into(),
            }]
        );
        // A compatible change of the function is no problem, and the policy is not changed.
        let fine = "Raw | project Id = tolong(Payload.id), Name = tostring(Payload.title)";
        let report = plan(&s, &desired(fine), false);
        assert!(report.update_policy_problems.is_empty());
        assert_eq!(
            report
                .changes
                .iter()
                .map(|c| c.address.as_str())
                .collect::<Vec<_>>(),
            vec!["kusto.db.function.ParseRaw"]
        );
    }
}

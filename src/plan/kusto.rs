//! The Kusto diff: desired and observed [`KustoState`] in, ordered [`Change`]s out. Pure.
//!
//! Rules:
//! - A declared table is authoritative for its columns: missing ones are added with
//!   `.alter-merge table` (never a form that could drop data), a type change is `data-loss`
//!   (`.alter column` nulls the data it retypes), an undeclared live column is dropped (`data-loss`).
//! - Declared mappings, policies and principals are created or updated (`safe`).
//! - A declared function is created or replaced in place with `.create-or-alter function`
//!   (`safe`) when its parameters, docstring or folder differ, or its body differs in more
//!   than whitespace and line endings.
//! - A declared update policy is set as a whole when its entries differ (see the
//!   `update_policies` module: creating one is `safe`, changing or removing one `data-loss`),
//!   after the functions its queries call; a plan whose policies miss a source, form a cycle
//!   or return other columns than their table is refused.
//! - Live objects that are not declared are left alone, unless pruning is on and they belong to
//!   this stack (tables and functions carry the ownership marker; mappings, policies and
//!   principals of owned tables, and database principals, follow their parent). Dropping a
//!   function is `data-loss` like every other drop: whatever calls it (queries, update
//!   policies, other functions) fails from then on.
//! - A declared materialized view is created (with backfill through the `async` form),
//!   altered in place when its source and group-by keys stay, or dropped and created again
//!   (`data-loss`) otherwise (see the `materialized_views` module).
//! - `renamed_from` on a table, column, function or materialized view renames the live object instead of
//!   dropping and creating it (see the `renames` module); the rest of the diff runs against
//!   the live state as the renames leave it.
//! - Column order is not compared: Kusto appends merged columns and reordering needs a full
//!   `.alter table`, which is not worth its risk.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::Address;
use super::{Action, Change, ImpactClass, Phase, Side, Target};
use crate::kusto::command::{Command, DatabaseRole, TableRole};
use crate::kusto::render::{self, PolicyScope, RoleScope};
use crate::model::kusto::{
    DatabaseState, KustoState, Mapping, RoleKey, TableState, maybe_declared,
};
use crate::model::{
    BatchingPolicy, CachingPolicy, ColumnType, Function, PrincipalRef, RetentionPolicy, Timespan,
    is_guid,
};
use crate::text::plural;

mod materialized_views;
mod renames;
mod update_policies;

pub use materialized_views::MaterializedViewProblem;
pub use renames::{RenameProblem, RenamedTable};
pub use update_policies::{UpdatePolicyProblem, note_fed_tables, policy_address};

/// What the diff needs besides the two states.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Remove live objects owned by this stack that are no longer declared.
    pub prune: bool,
    /// This stack's name (the ownership marker).
    pub owner: Option<String>,
}

/// The Kusto part of a plan: the changes, and what was deliberately left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KustoDiff {
    /// Every change that takes the observed state to the desired one, in apply order.
    pub changes: Vec<Change>,
    /// Live principals that are not declared, in roles the manifests do not list, and that
    /// the plan therefore keeps (a plan says so rather than claiming the systems match).
    pub undeclared_principals_left: usize,
    /// `renamed_from` declarations the plan cannot carry out: the plan is refused.
    pub rename_problems: Vec<RenameProblem>,
    /// Update policies the plan cannot set as declared (a missing source, a cycle, a query
    /// whose output does not match its table): the plan is refused.
    pub update_policy_problems: Vec<UpdatePolicyProblem>,
    /// Materialized views the plan cannot create as declared (a missing source, a name a
    /// live table or function holds): the plan is refused.
    pub materialized_view_problems: Vec<MaterializedViewProblem>,
    /// The tables the plan renames: a route into one that the declared sink points at the new
    /// name is re-pointed, not removed.
    pub renamed_tables: Vec<RenamedTable>,
    /// The databases the plan's renames change, as the renames leave them (tables, columns,
    /// functions and views under their new names); every other database is as observed, so
    /// none is copied for a plan that renames nothing. [`live_after_renames`] lays them over
    /// the observed state: what the cross-system checks judge routes against.
    pub live_after_renames: KustoState,
}

/// The observed state as a plan's renames leave it: `observed` with the databases of
/// `renamed` ([`KustoDiff::live_after_renames`]) in place of its own. Borrowed when the plan
/// renames nothing.
pub fn live_after_renames<'a>(
    observed: &'a KustoState,
    renamed: &'a KustoState,
) -> Cow<'a, KustoState> {
    if renamed.databases.is_empty() {
        return Cow::Borrowed(observed);
    }
    let mut after = observed.clone();
    for (name, db) in &renamed.databases {
        after.databases.insert(name.clone(), db.clone());
    }
    Cow::Owned(after)
}

/// Every change that takes `observed` to `desired`, ordered by phase then address.
pub fn diff(desired: &KustoState, observed: &KustoState, options: &DiffOptions) -> Vec<Change> {
    diff_report(desired, observed, options).changes
}

/// [`diff`] plus how many undeclared principals were left in place.
pub fn diff_report(
    desired: &KustoState,
    observed: &KustoState,
    options: &DiffOptions,
) -> KustoDiff {
    let mut report = KustoDiff::default();
    for (name, want) in &desired.databases {
        let empty = DatabaseState {
            name: name.clone(),
            ..Default::default()
        };
        let have = observed.databases.get(name).unwrap_or(&empty);
        let resolved = renames::resolve(want, have);
        report.changes.extend(resolved.changes);
        report.rename_problems.extend(resolved.problems);
        report.renamed_tables.extend(resolved.tables);
        database(want, &resolved.live, options, &mut report);
        // Only a database the renames changed is kept: the others are as observed.
        if let Cow::Owned(live) = resolved.live
            && observed.databases.contains_key(name)
        {
            report
                .live_after_renames
                .databases
                .insert(name.clone(), live);
        }
    }
    report
        .changes
        .sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
    report
}

struct Ctx<'a> {
    db: &'a str,
    out: &'a mut Vec<Change>,
    left: &'a mut usize,
    /// Object id -> UPN or group name, from the database's principals (see
    /// [`DatabaseState::directory`]); used for the database's and its tables' roles.
    directory: &'a BTreeMap<String, String>,
    /// Whether the database streams once the plan is applied: a table without its own
    /// streaming policy follows it.
    database_streams: bool,
    /// The database's soft-delete period before the plan: what a table without its own
    /// retention policy keeps today.
    database_retention: Timespan,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        address: Address,
        action: Action,
        impact: ImpactClass,
        summary: String,
        before: Option<Side>,
        after: Option<Side>,
        commands: Vec<Command>,
        phase: Phase,
    ) {
        let (before, before_state) = Side::split(before);
        let (after, after_state) = Side::split(after);
        self.out.push(Change {
            address,
            action,
            impact,
            summary,
            before,
            after,
            before_state,
            after_state,
            target: Target::Kusto {
                database: self.db.to_string(),
            },
            kusto_commands: commands,
            operations: Vec::new(),
            phase,
            previous_address: None,
        });
    }
}

/// Declared tables a database needs before their diff is split over two threads: below it a
/// thread costs more than it saves. At 10,000 tables the diff is most of what a no-change plan
/// does after its last answer, with the second core idle.
const SPLIT_TABLE_DIFF_AT: usize = 2_000;

/// The changes of each declared table, in the order of `want.tables`.
fn declared_tables(
    ctx: &mut Ctx<'_>,
    want: &DatabaseState,
    have: &DatabaseState,
    options: &DiffOptions,
) {
    let diff = |ctx: &mut Ctx<'_>, tables: &mut dyn Iterator<Item = (&String, &TableState)>| {
        for (name, table_want) in tables {
            match have.tables.get(name) {
                None => create_table(ctx, table_want),
                Some(table_have) => update_table(ctx, table_want, table_have, options),
            }
        }
    };
    if want.tables.len() < SPLIT_TABLE_DIFF_AT {
        diff(ctx, &mut want.tables.iter());
        return;
    }
    let half = want.tables.len() / 2;
    let (mut second_out, mut second_left) = (Vec::new(), 0);
    let mut second = Ctx {
        db: ctx.db,
        out: &mut second_out,
        left: &mut second_left,
        directory: ctx.directory,
        database_streams: ctx.database_streams,
        database_retention: ctx.database_retention,
    };
    crate::threads::beside(
        || diff(ctx, &mut want.tables.iter().take(half)),
        || diff(&mut second, &mut want.tables.iter().skip(half)),
    );
    ctx.out.append(&mut second_out);
    *ctx.left += second_left;
}

fn database(
    want: &DatabaseState,
    have: &DatabaseState,
    options: &DiffOptions,
    report: &mut KustoDiff,
) {
    let db = want.name.as_str();
    let mut ctx = Ctx {
        db,
        out: &mut report.changes,
        left: &mut report.undeclared_principals_left,
        directory: &have.directory,
        database_streams: want.streaming,
        database_retention: have
            .retention
            .map_or(RetentionPolicy::UNLIMITED, |r| r.soft_delete),
    };
    let base = Address::kusto_database(db);
    declared_tables(&mut ctx, want, have, options);
    for (name, table_have) in &have.tables {
        let owned = options.owner.is_some() && table_have.owner == options.owner;
        if !want.tables.contains_key(name) && owned && options.prune {
            ctx.push(
                Address::kusto_table(db, name),
                Action::Delete,
                ImpactClass::DataLoss,
                format!(
                    "drop table {name} and all its data (owned by this stack, no longer declared)"
                ),
                Some(table_side(table_have)),
                None,
                vec![render::drop_table(name)],
                Phase::KustoRemovals,
            );
        }
    }
    functions(&mut ctx, want, have, options);
    update_policies::plan(
        &mut ctx,
        want,
        have,
        options,
        &mut report.update_policy_problems,
    );
    materialized_views::plan(
        &mut ctx,
        want,
        have,
        options,
        &mut report.materialized_view_problems,
    );
    batching(
        &mut ctx,
        PolicyAt::new(&base, "ingestionbatching"),
        PolicyScope::Database(db),
        want.batching,
        have.batching,
    );
    database_streaming(
        &mut ctx,
        PolicyAt::new(&base, "streamingingestion"),
        want.streaming,
        have.streaming,
    );
    retention(
        &mut ctx,
        PolicyAt::new(&base, "retention"),
        PolicyScope::Database(db),
        (want.retention, have.retention),
        RetentionPolicy::UNLIMITED,
        !have.tables.is_empty(),
    );
    caching(
        &mut ctx,
        PolicyAt::new(&base, "caching"),
        PolicyScope::Database(db),
        want.caching.as_ref(),
        have.caching.as_ref(),
    );
    principals(
        &mut ctx,
        &base,
        Scope::Database(db),
        Roles {
            want: &want.principals,
            declared: &want.declared_roles,
            have: &have.principals,
        },
        options.prune,
    );
}

fn table_text(t: &TableState) -> String {
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("{}: {}", c.name, c.ty))
        .collect();
    format!("({})", cols.join(", "))
}

/// A table's columns, in order, as `[{"name", "type"}]`.
fn columns_state(t: &TableState) -> serde_json::Value {
    t.columns
        .iter()
        .map(|c| column_state(&c.name, c.ty))
        .collect()
}

/// How a plan shows a table: its columns (`(A: int)`; `{"columns": [{"name", "type"}]}`).
fn table_side(t: &TableState) -> Side {
    Side::new(table_text(t), json!({ "columns": columns_state(t) }))
}

/// A table under one of its names, as a rename shows it (`Old (A: int)`; `{"name", "columns"}`).
fn named_table_side(name: &str, t: &TableState) -> Side {
    Side::new(
        format!("{name} {}", table_text(t)),
        json!({ "name": name, "columns": columns_state(t) }),
    )
}

/// One column as JSON: `{"name", "type"}`.
fn column_state(name: &str, ty: ColumnType) -> serde_json::Value {
    json!({ "name": name, "type": ty.to_string() })
}

/// How a plan shows a column whose type changes or that is dropped: its type (`int`;
/// `{"name", "type"}`).
fn column_side(name: &str, ty: ColumnType) -> Side {
    Side::new(ty.to_string(), column_state(name, ty))
}

fn create_table(ctx: &mut Ctx<'_>, t: &TableState) {
    let name = t.name.as_str();
    let cols: Vec<(&str, crate::model::ColumnType)> =
        t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
    let commands = vec![render::create_table_with(
        name,
        &cols,
        &t.folder,
        &t.stored_docstring(),
    )];
    ctx.push(
        Address::kusto_table(ctx.db, name),
        Action::Create,
        ImpactClass::Safe,
        format!("create table {name} with {} columns", t.columns.len()),
        None,
        Some(table_side(t)),
        commands,
        Phase::KustoTables,
    );
    let empty = TableState {
        name: t.name.clone(),
        ..Default::default()
    };
    table_children(ctx, t, &empty, false);
}

fn update_table(ctx: &mut Ctx<'_>, want: &TableState, have: &TableState, options: &DiffOptions) {
    let name = want.name.as_str();
    let addr = Address::kusto_table(ctx.db, name);
    let missing: Vec<(&str, crate::model::ColumnType)> = want
        .columns
        .iter()
        .filter(|c| !have.columns.iter().any(|h| h.name == c.name))
        .map(|c| (c.name.as_str(), c.ty))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        ctx.push(
            addr.clone(),
            Action::Update,
            ImpactClass::Safe,
            format!(
                "add column{} {}",
                plural(missing.len(), "", "s"),
                names.join(", ")
            ),
            Some(table_side(have)),
            Some(table_side(want)),
            vec![render::alter_merge_table(name, &missing)],
            Phase::KustoTables,
        );
    }
    for c in &want.columns {
        if let Some(h) = have.columns.iter().find(|h| h.name == c.name)
            && h.ty != c.ty
        {
            ctx.push(
                addr.column(&c.name),
                Action::Update,
                ImpactClass::DataLoss,
                format!(
                    "change type of column {} from {} to {} (existing values become null)",
                    c.name, h.ty, c.ty
                ),
                Some(column_side(&c.name, h.ty)),
                Some(column_side(&c.name, c.ty)),
                vec![render::alter_column_type(name, &c.name, c.ty)],
                Phase::KustoTables,
            );
        }
    }
    for h in &have.columns {
        if !want.columns.iter().any(|c| c.name == h.name) {
            ctx.push(
                addr.column(&h.name),
                Action::Delete,
                ImpactClass::DataLoss,
                format!("drop column {} ({}) and its data", h.name, h.ty),
                Some(column_side(&h.name, h.ty)),
                None,
                vec![render::drop_column(name, &h.name)],
                Phase::KustoRemovals,
            );
        }
    }
    let (want_doc, have_doc) = (want.stored_docstring(), have.stored_docstring());
    let adopting = have.owner.is_none() && want.owner.is_some();
    // A declared table with no marker at all is adopted as is: the marker alone is not drift
    // (an import is followed by an empty plan), it is written with the table's next docstring
    // change. Until then the table is never pruned, which is the safe side.
    let marker_only = adopting && want.docstring == have.docstring;
    if want_doc != have_doc && !marker_only {
        ctx.push(
            addr.docstring(),
            Action::Update,
            ImpactClass::Safe,
            if adopting {
                format!("set docstring (marks {name} as managed by this stack)")
            } else {
                "set docstring".to_string()
            },
            Some(Side::field("docstring", have_doc)),
            Some(Side::field("docstring", want_doc.clone())),
            vec![render::alter_table_docstring(name, &want_doc)],
            Phase::KustoTables,
        );
    }
    if want.folder != have.folder {
        ctx.push(
            addr.folder(),
            Action::Update,
            ImpactClass::Safe,
            "set folder".to_string(),
            Some(Side::field("folder", have.folder.clone())),
            Some(Side::field("folder", want.folder.clone())),
            vec![render::alter_table_folder(name, &want.folder)],
            Phase::KustoTables,
        );
    }
    let owned = options.owner.is_some() && have.owner == options.owner;
    table_children(ctx, want, have, options.prune && owned);
}

/// Declared functions are created or replaced when they differ (see the module docs); live
/// ones that are not declared are dropped only when pruning and owned by this stack.
fn functions(ctx: &mut Ctx<'_>, want: &DatabaseState, have: &DatabaseState, options: &DiffOptions) {
    for (name, f) in &want.functions {
        let current = have.functions.get(name);
        let Some(changes) = function_changes(f, current) else {
            continue;
        };
        let Some(parameters) = f.scalar_parameters() else {
            continue;
        };
        ctx.push(
            Address::kusto_function(ctx.db, name),
            Action::setting(current.is_some()),
            ImpactClass::Safe,
            match current {
                None => format!("create function {name}{}", f.parameters_text()),
                Some(_) => format!("update function {name}: {}", changes.join(", ")),
            },
            current.map(function_side),
            Some(function_side(f)),
            vec![render::create_or_alter_function(
                name,
                &parameters,
                &f.body,
                &f.folder,
                &f.stored_docstring(),
                f.skip_validation,
            )],
            Phase::KustoFunctions,
        );
    }
    for (name, f) in &have.functions {
        let owned = options.owner.is_some() && f.owner == options.owner;
        if !want.functions.contains_key(name) && owned && options.prune {
            ctx.push(
                Address::kusto_function(ctx.db, name),
                Action::Delete,
                ImpactClass::DataLoss,
                format!(
                    "drop function {name} (owned by this stack, no longer declared; queries, \
                     policies and functions that call it fail)"
                ),
                Some(function_side(f)),
                None,
                vec![render::drop_function(name)],
                Phase::KustoRemovals,
            );
        }
    }
}

/// What differs between a declared function and the live one: `None` when nothing does,
/// else the parts that change (empty for a function that does not exist yet). A live
/// function without the ownership marker is adopted as is, like a table: the marker alone
/// is not drift, and it is written with the function's next change.
fn function_changes(want: &Function, have: Option<&Function>) -> Option<Vec<&'static str>> {
    let Some(have) = have else {
        return Some(Vec::new());
    };
    let adopting = have.owner.is_none() && want.owner.is_some();
    let mut changes = Vec::new();
    if want.parameters != have.parameters {
        changes.push("parameters (callers must pass the new ones)");
    }
    if !want.same_body(have) {
        changes.push("body");
    }
    if want.docstring != have.docstring || (want.owner != have.owner && !adopting) {
        changes.push("docstring");
    }
    if want.folder != have.folder {
        changes.push("folder");
    }
    (!changes.is_empty()).then_some(changes)
}

/// How a plan shows a function: its signature, folder and docstring, then the body
/// (`{"name", "parameters": [{"name", "type"}], "body", "folder", "docstring"}`).
fn function_side(f: &Function) -> Side {
    let mut text = format!("{}{}\n", f.name, f.parameters_text());
    push_definition(&mut text, &f.folder, &f.stored_docstring(), &f.body);
    let parameters: Vec<serde_json::Value> = f
        .parameters
        .iter()
        .map(|p| json!({ "name": p.name, "type": p.ty.to_string() }))
        .collect();
    let state = json!({
        "name": f.name,
        "parameters": parameters,
        "body": shown_body(&f.body),
        "folder": f.folder,
        "docstring": f.stored_docstring(),
    });
    Side::new(text, state)
}

/// The part a function and a materialized view show alike: folder and docstring when set,
/// then the body in braces with its line endings made `\n`, so a plan's diff of either never
/// shows a line-ending change.
fn push_definition(out: &mut String, folder: &str, docstring: &str, body: &str) {
    if !folder.is_empty() {
        out.push_str(&format!("folder: {folder}\n"));
    }
    if !docstring.is_empty() {
        out.push_str(&format!("docstring: {docstring}\n"));
    }
    out.push_str("{\n");
    out.push_str(&shown_body(body));
    out.push_str("\n}\n");
}

/// A function's body or a view's query as plans show it, in text and JSON alike: line endings
/// made `\n`, without the blank lines and trailing whitespace around it.
fn shown_body(body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    body.trim_matches('\n').trim_end().to_string()
}

/// Mappings, policies and principals of a table.
fn table_children(ctx: &mut Ctx<'_>, want: &TableState, have: &TableState, prune: bool) {
    let name = want.name.as_str();
    let addr = Address::kusto_table(ctx.db, name);
    for (key, m) in &want.mappings {
        let current = have.mappings.get(key);
        if current == Some(m) {
            continue;
        }
        ctx.push(
            Address::kusto_mapping(ctx.db, name, &m.name),
            Action::setting(current.is_some()),
            ImpactClass::Safe,
            format!(
                "{} {} mapping {}",
                if current.is_some() {
                    "update"
                } else {
                    "create"
                },
                m.kind,
                m.name
            ),
            current.map(mapping_side),
            Some(mapping_side(m)),
            vec![render::create_or_alter_mapping(
                name,
                m.kind,
                &m.name,
                &m.to_json(),
            )],
            Phase::KustoMappings,
        );
    }
    if prune {
        for (key, m) in &have.mappings {
            if !want.mappings.contains_key(key) {
                ctx.push(
                    Address::kusto_mapping(ctx.db, name, &m.name),
                    Action::Delete,
                    ImpactClass::DataLoss,
                    format!(
                        "drop {} mapping {} (ingestion that names it fails)",
                        m.kind, m.name
                    ),
                    Some(mapping_side(m)),
                    None,
                    vec![render::drop_mapping(name, m.kind, &m.name)],
                    Phase::KustoRemovals,
                );
            }
        }
    }
    batching(
        ctx,
        PolicyAt::new(&addr, "ingestionbatching"),
        PolicyScope::Table(name),
        want.batching,
        have.batching,
    );
    table_streaming(
        ctx,
        PolicyAt::new(&addr, "streamingingestion"),
        name,
        want.streaming,
        have.streaming,
    );
    let inherited = ctx.database_retention;
    // A live table has at least one column; the empty stand-in of a table this plan creates
    // has none, and holds no data to lose.
    retention(
        ctx,
        PolicyAt::new(&addr, "retention"),
        PolicyScope::Table(name),
        (want.retention, have.retention),
        inherited,
        !have.columns.is_empty(),
    );
    caching(
        ctx,
        PolicyAt::new(&addr, "caching"),
        PolicyScope::Table(name),
        want.caching.as_ref(),
        have.caching.as_ref(),
    );
    principals(
        ctx,
        &addr,
        Scope::Table(name),
        Roles {
            want: &want.principals,
            declared: &want.declared_roles,
            have: &have.principals,
        },
        prune,
    );
}

/// The address of one policy of a database or table, built only when the policy changes:
/// most policies match, and building every table's four policy addresses up front was a
/// visible share of a no-change plan at ten thousand tables.
#[derive(Clone, Copy)]
struct PolicyAt<'a> {
    /// The database or table.
    parent: &'a Address,
    /// The policy's keyword (`retention`, ...).
    kind: &'static str,
}

impl<'a> PolicyAt<'a> {
    fn new(parent: &'a Address, kind: &'static str) -> Self {
        PolicyAt { parent, kind }
    }

    /// `PARENT.policy.KIND`.
    fn address(self) -> Address {
        self.parent.policy(self.kind)
    }
}

/// Pretty JSON with a final newline, so unified diffs need no "no newline at end" marker.
fn pretty(value: &serde_json::Value) -> String {
    format!("{value:#}\n")
}

/// A side that is a JSON document the service takes (a mapping, a policy): pretty-printed for
/// the diff, as is for programs.
fn json_side(value: serde_json::Value) -> Side {
    Side::new(pretty(&value), value)
}

fn mapping_side(m: &Mapping) -> Side {
    json_side(m.to_json())
}

fn policy_side(p: &BatchingPolicy) -> Side {
    json_side(p.to_json())
}

fn batching(
    ctx: &mut Ctx<'_>,
    address: PolicyAt<'_>,
    scope: PolicyScope<'_>,
    want: Option<BatchingPolicy>,
    have: Option<BatchingPolicy>,
) {
    match (want, have) {
        (Some(w), h) if Some(w) != h => ctx.push(
            address.address(),
            Action::setting(h.is_some()),
            ImpactClass::Safe,
            format!(
                "set ingestion batching to {} / {} items / {} MB",
                w.max_time, w.max_items, w.max_raw_size_mb
            ),
            h.as_ref().map(policy_side),
            Some(policy_side(&w)),
            vec![render::alter_batching_policy(scope, &w)],
            Phase::KustoPolicies,
        ),
        (None, Some(h)) => ctx.push(
            address.address(),
            Action::Delete,
            ImpactClass::Safe,
            "remove ingestion batching policy (not declared; the parent's policy applies)"
                .to_string(),
            Some(policy_side(&h)),
            None,
            vec![render::delete_batching_policy(scope)],
            Phase::KustoPolicies,
        ),
        _ => {}
    }
}

/// A declared retention policy is set when the live one differs; an undeclared one is left as
/// it is. A shorter soft-delete period than what applies today (the entity's own policy, else
/// `inherited`) deletes the data older than it: `data-loss`, when the entity holds data (a
/// table that exists, a database with tables). Disabling recoverability is safe but said,
/// since deleted data can then no longer be recovered.
fn retention(
    ctx: &mut Ctx<'_>,
    address: PolicyAt<'_>,
    scope: PolicyScope<'_>,
    (want, have): (Option<RetentionPolicy>, Option<RetentionPolicy>),
    inherited: Timespan,
    holds_data: bool,
) {
    let Some(want) = want else {
        return;
    };
    if have == Some(want) {
        return;
    }
    let before = have.map_or(inherited, |h| h.soft_delete);
    let mut summary = format!("keep data for {}", want.soft_delete);
    let impact = if want.soft_delete < before && holds_data {
        summary.push_str(&format!(
            " (was {before}): data older than {} is deleted",
            want.soft_delete
        ));
        ImpactClass::DataLoss
    } else {
        if want.soft_delete > before {
            summary.push_str(&format!(" (was {before})"));
        }
        ImpactClass::Safe
    };
    if !want.recoverable && have.is_none_or(|h| h.recoverable) {
        summary.push_str("; deleted data can no longer be recovered");
    }
    ctx.push(
        address.address(),
        Action::setting(have.is_some()),
        impact,
        summary,
        have.map(|h| json_side(h.to_json())),
        Some(json_side(want.to_json())),
        vec![render::alter_retention_policy(scope, &want)],
        Phase::KustoPolicies,
    );
}

/// A declared caching policy is set when the live one differs; an undeclared one is left as
/// it is. Caching changes query speed and cost, never data: `safe`.
fn caching(
    ctx: &mut Ctx<'_>,
    address: PolicyAt<'_>,
    scope: PolicyScope<'_>,
    want: Option<&CachingPolicy>,
    have: Option<&CachingPolicy>,
) {
    let Some(want) = want else {
        return;
    };
    if have == Some(want) {
        return;
    }
    let windows = match want.hot_windows.len() {
        0 => String::new(),
        1 => " and 1 hot window".to_string(),
        n => format!(" and {n} hot windows"),
    };
    ctx.push(
        address.address(),
        Action::setting(have.is_some()),
        ImpactClass::Safe,
        format!("keep the last {} hot{windows}", want.hot),
        have.map(|h| json_side(h.to_json())),
        Some(json_side(want.to_json())),
        vec![render::alter_caching_policy(scope, want)],
        Phase::KustoPolicies,
    );
}

/// The database's streaming policy: there is nothing above a database, so "no policy" and a
/// disabling one mean the same and disabling removes the policy.
fn database_streaming(ctx: &mut Ctx<'_>, address: PolicyAt<'_>, want: bool, have: bool) {
    if want == have {
        return;
    }
    let scope = PolicyScope::Database(ctx.db);
    let (action, summary, command) = if want {
        (
            Action::Create,
            "enable streaming ingestion for the database (tables without their own policy follow)",
            render::alter_streaming_policy(scope, true),
        )
    } else {
        (
            Action::Delete,
            "disable streaming ingestion for the database (tables without their own policy follow; \
             their streaming routes fall back to queued)",
            render::delete_streaming_policy(scope),
        )
    };
    ctx.push(
        address.address(),
        action,
        ImpactClass::Safe,
        summary.to_string(),
        Some(streaming_side(Some(have), false)),
        Some(streaming_side(Some(want), false)),
        vec![command],
        Phase::KustoPolicies,
    );
}

/// A table's streaming policy, judged by its effect: the table's own policy when it has one,
/// else the database's (as the service applies them). Equivalent states are not drift (no
/// policy and a disabling one in a database that does not stream). A table declared
/// `streaming_ingestion: false` gets an explicit disabling policy, never a deletion, so it
/// stays off in a database that streams; an undeclared setting follows the database.
fn table_streaming(
    ctx: &mut Ctx<'_>,
    address: PolicyAt<'_>,
    table: &str,
    want: Option<bool>,
    have: Option<bool>,
) {
    let database = ctx.database_streams;
    let after = want.unwrap_or(database);
    if after == have.unwrap_or(database) {
        return;
    }
    let scope = PolicyScope::Table(table);
    let (action, summary, command) = match want {
        Some(on) => (
            Action::setting(have.is_some()),
            if on {
                "enable streaming ingestion".to_string()
            } else if database {
                "disable streaming ingestion with a table policy (the database enables it; \
                 streaming routes fall back to queued)"
                    .to_string()
            } else {
                "disable streaming ingestion (streaming routes fall back to queued)".to_string()
            },
            render::alter_streaming_policy(scope, on),
        ),
        None => (
            Action::Delete,
            format!(
                "remove the table's streaming policy (the database's applies: streaming {})",
                if database { "enabled" } else { "disabled" }
            ),
            render::delete_streaming_policy(scope),
        ),
    };
    ctx.push(
        address.address(),
        action,
        ImpactClass::Safe,
        summary,
        Some(streaming_side(have, database)),
        Some(streaming_side(want, database)),
        vec![command],
        Phase::KustoPolicies,
    );
}

/// How a plan shows a streaming setting: the policy's value, or what is inherited
/// (`{"enabled": true|false|null, "inherited": bool}`, `null` for no policy of its own).
fn streaming_side(policy: Option<bool>, inherited: bool) -> Side {
    let text = match policy {
        Some(true) => "enabled".to_string(),
        Some(false) => "disabled".to_string(),
        None => format!(
            "no policy (database: {})",
            if inherited { "enabled" } else { "disabled" }
        ),
    };
    Side::new(text, json!({ "enabled": policy, "inherited": inherited }))
}

#[derive(Clone, Copy)]
enum Scope<'a> {
    Database(&'a str),
    Table(&'a str),
}

impl Scope<'_> {
    fn role(&self, keyword: &str) -> Option<RoleScope<'_>> {
        match self {
            Scope::Database(db) => {
                DatabaseRole::from_keyword(keyword).map(|r| RoleScope::Database(db, r))
            }
            Scope::Table(t) => TableRole::from_keyword(keyword).map(|r| RoleScope::Table(t, r)),
        }
    }
}

/// The principals of one scope: declared, the roles the manifests list, and live.
struct Roles<'a> {
    want: &'a BTreeMap<RoleKey, Option<String>>,
    declared: &'a BTreeSet<String>,
    have: &'a BTreeMap<RoleKey, Option<String>>,
}

fn principals(ctx: &mut Ctx<'_>, base: &Address, scope: Scope<'_>, roles: Roles<'_>, prune: bool) {
    let have = roles.have;
    let want = &align(roles.want, have, ctx.directory);
    for (key, notes) in want {
        let Some(role_scope) = scope.role(&key.role) else {
            continue;
        };
        let Some(p) = PrincipalRef::parse_fqn(&key.fqn) else {
            continue;
        };
        let address = base.role(&key.role, &key.fqn);
        match have.get(key) {
            None => ctx.push(
                address,
                Action::Create,
                ImpactClass::Safe,
                format!("grant {} to {}", key.role, key.fqn),
                None,
                Some(principal_side(key, notes)),
                vec![render::add_principals(
                    role_scope,
                    std::slice::from_ref(&p),
                    notes.as_deref(),
                )],
                Phase::KustoPrincipals,
            ),
            Some(current) if current != notes => ctx.push(
                address,
                Action::Replace,
                ImpactClass::Safe,
                format!(
                    "change notes of {} in {} (dropped and added again: access is briefly removed)",
                    key.fqn, key.role
                ),
                Some(principal_side(key, current)),
                Some(principal_side(key, notes)),
                vec![
                    render::drop_principals(role_scope, std::slice::from_ref(&p)),
                    render::add_principals(role_scope, std::slice::from_ref(&p), notes.as_deref()),
                ],
                Phase::KustoPrincipals,
            ),
            Some(_) => {}
        }
    }
    for (key, notes) in have {
        if want.contains_key(key) {
            continue;
        }
        let live = PrincipalRef::parse_fqn(&key.fqn);
        if live
            .as_ref()
            .is_some_and(|p| maybe_declared(p, &key.role, want, have, ctx.directory))
        {
            continue;
        }
        let listed = roles.declared.contains(&key.role);
        let target = scope.role(&key.role).zip(live);
        let Some((role_scope, p)) = target.filter(|_| listed || prune) else {
            *ctx.left += 1;
            continue;
        };
        let summary = if listed {
            format!(
                "revoke {} from {} (not in the declared {} list; access is removed)",
                key.role, key.fqn, key.role
            )
        } else {
            format!("revoke {} from {} (access is removed)", key.role, key.fqn)
        };
        ctx.push(
            base.role(&key.role, &key.fqn),
            Action::Delete,
            ImpactClass::DataLoss,
            summary,
            Some(principal_side(key, notes)),
            None,
            vec![render::drop_principals(
                role_scope,
                std::slice::from_ref(&p),
            )],
            Phase::KustoRemovals,
        );
    }
}

/// Whether a declared principal is the live one. Kusto lists users and groups by object id and
/// resolves tenant names to tenant ids (`aaduser=jack@contoso.com` reads back as
/// `aaduser=<objectId>;<tenantId>`, `aadapp=X;contoso.com` as `aadapp=X;<tenantId>`), and a
/// principal given without a tenant gets the cluster's. So: same kind; same id, or the live
/// object id is known (from the display names) to be the declared UPN or group name; and a
/// declared tenant id must be the live one (a tenant name cannot be checked without a
/// directory lookup).
fn same_principal(
    declared: &PrincipalRef,
    live: &PrincipalRef,
    directory: &BTreeMap<String, String>,
) -> bool {
    declared.kind == live.kind
        && (live.id == declared.id || directory.get(&live.id) == Some(&declared.id))
        && match (&declared.tenant, &live.tenant) {
            (None, _) => true,
            (Some(d), Some(l)) => d == l || (!is_guid(d) && is_guid(l)),
            (Some(_), None) => false,
        }
}

/// Declared principals keyed as the service lists them, where a live principal matches.
fn align(
    want: &BTreeMap<RoleKey, Option<String>>,
    have: &BTreeMap<RoleKey, Option<String>>,
    directory: &BTreeMap<String, String>,
) -> BTreeMap<RoleKey, Option<String>> {
    want.iter()
        .map(|(key, notes)| {
            if have.contains_key(key) {
                return (key.clone(), notes.clone());
            }
            let resolved = PrincipalRef::parse_fqn(&key.fqn).and_then(|declared| {
                have.keys().find(|h| {
                    h.role == key.role
                        && PrincipalRef::parse_fqn(&h.fqn)
                            .is_some_and(|live| same_principal(&declared, &live, directory))
                })
            });
            (resolved.unwrap_or(key).clone(), notes.clone())
        })
        .collect()
}

/// How a plan shows a principal in a role: its notes (`notes: X`;
/// `{"role", "principal", "notes"}`, `notes` null when there are none).
fn principal_side(key: &RoleKey, notes: &Option<String>) -> Side {
    let text = notes
        .clone()
        .map_or_else(|| "(no notes)".to_string(), |n| format!("notes: {n}"));
    Side::new(
        text,
        json!({ "role": key.role, "principal": key.fqn, "notes": notes }),
    )
}

#[cfg(test)]
mod tests;

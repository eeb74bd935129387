//! `renamed_from` on tables, columns, functions and materialized views: renames instead of drop + create.
//!
//! A rename is planned only while the old name exists live and the new one does not; once the
//! new name exists and the old one is gone it has been carried out and changes nothing, so
//! the field may stay in the manifests. Both names existing, or neither, is a plan error: the
//! first would need one of them dropped, the second means the source is gone.
//!
//! The rest of the diff then compares the declared state with the live state as the renames
//! leave it ([`Resolved::live`]): a renamed table is diffed under its new name (its columns,
//! mappings, policies and principals moved with it), a renamed column keeps its type (a type
//! change plans on top), and the old names are never planned as drops. A rename change carries
//! the old address as its `previous_address`, which runs it first in its phase (see
//! [`Change::apply_order`]).
//!
//! A rename keeps all data but breaks whatever still uses the old name (queries, functions,
//! update policies, mappings of a renamed column): `restart`-class, in place but disruptive.

use std::borrow::Cow;

use super::materialized_views::view_side;
use super::{
    Action, Address, Change, ImpactClass, Phase, Side, Target, column_state, function_side,
    named_table_side,
};
use crate::kusto::command::Command;
use crate::kusto::render;
use crate::model::kusto::DatabaseState;

/// A `renamed_from` the plan cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameProblem {
    /// The address of the declared (new) object.
    pub address: Address,
    /// What is wrong and what to do.
    pub message: String,
}

/// A table the plan renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenamedTable {
    /// Its database.
    pub database: String,
    /// The live (old) name.
    pub from: String,
    /// The declared (new) name.
    pub to: String,
}

/// The renames of one database and the live state they leave behind.
pub(super) struct Resolved<'a> {
    /// The database as it is after the renames: what the rest of the diff compares with.
    /// Borrowed from the observed state until a rename changes it: copying every table of a
    /// large database for a plan that renames nothing was a visible share of its time.
    pub live: Cow<'a, DatabaseState>,
    /// The rename changes, in apply order.
    pub changes: Vec<Change>,
    /// Renames that cannot be carried out.
    pub problems: Vec<RenameProblem>,
    /// The tables renamed.
    pub tables: Vec<RenamedTable>,
}

/// Where a rename stands, from whether each name exists live.
enum Step {
    /// Only the new name exists: renamed already, nothing to do.
    Done,
    /// Only the old name exists: rename it.
    Rename,
    /// Both exist: renaming would need one dropped.
    Conflict,
    /// Neither exists: the source is gone.
    SourceGone,
}

fn step(new_exists: bool, old_exists: bool) -> Step {
    match (new_exists, old_exists) {
        (true, false) => Step::Done,
        (false, true) => Step::Rename,
        (true, true) => Step::Conflict,
        (false, false) => Step::SourceGone,
    }
}

/// Resolves the `renamed_from` of every declared table, column and function of `want`
/// against `have`: tables first (a column rename applies to the renamed table), then columns,
/// then functions.
pub(super) fn resolve<'a>(want: &DatabaseState, have: &'a DatabaseState) -> Resolved<'a> {
    let db = want.name.as_str();
    let mut out = Resolved {
        live: Cow::Borrowed(have),
        changes: Vec::new(),
        problems: Vec::new(),
        tables: Vec::new(),
    };
    let change = |(address, previous): (Address, Address),
                  summary: String,
                  before: Side,
                  after: Side,
                  commands: Vec<Command>,
                  phase| {
        Change {
            address,
            previous_address: Some(previous),
            action: Action::Update,
            impact: ImpactClass::Restart,
            summary,
            before: Some(before.text),
            after: Some(after.text),
            before_state: Some(before.state),
            after_state: Some(after.state),
            target: Target::Kusto {
                database: db.to_string(),
            },
            kusto_commands: commands,
            operations: Vec::new(),
            phase,
        }
    };
    for (new, t) in &want.tables {
        let Some(old) = &t.renamed_from else {
            continue;
        };
        let addr = Address::kusto_table(db, new);
        match step(
            out.live.tables.contains_key(new),
            out.live.tables.contains_key(old),
        ) {
            Step::Done => {}
            Step::Conflict => out.problems.push(RenameProblem {
                address: addr,
                message: format!(
                    "table `{new}` is renamed from `{old}`, but both exist in database `{db}`; \
                     renaming would need one of them dropped: drop or rename the one you do not \
                     want by hand, or remove `renamed_from`"
                ),
            }),
            Step::SourceGone => out.problems.push(RenameProblem {
                address: addr,
                message: format!(
                    "table `{new}` is renamed from `{old}`, but neither exists in database \
                     `{db}`: the rename's source is gone; remove `renamed_from` to create \
                     `{new}` empty"
                ),
            }),
            Step::Rename => {
                let Some(mut table) = out.live.to_mut().tables.remove(old) else {
                    continue;
                };
                out.changes.push(change(
                    (addr, Address::kusto_table(db, old)),
                    format!(
                        "rename table {old} to {new} (data, mappings, policies and principals \
                         move with it; queries and functions that use {old} fail)"
                    ),
                    named_table_side(old, &table),
                    named_table_side(new, &table),
                    vec![render::rename_table(old, new)],
                    Phase::KustoTables,
                ));
                table.name.clone_from(new);
                out.live.to_mut().tables.insert(new.clone(), table);
                out.tables.push(RenamedTable {
                    database: db.to_string(),
                    from: old.clone(),
                    to: new.clone(),
                });
            }
        }
    }
    for (name, t) in &want.tables {
        for (new, old) in &t.renamed_columns {
            let addr = Address::kusto_table(db, name).column(new);
            let Some(table) = out.live.tables.get(name) else {
                out.problems.push(RenameProblem {
                    address: addr,
                    message: format!(
                        "column `{new}` is renamed from `{old}`, but table `{db}.{name}` does not \
                         exist: the rename's source is gone; remove `renamed_from` to create the \
                         column with the table"
                    ),
                });
                continue;
            };
            let has = |c: &str| table.columns.iter().any(|h| h.name == c);
            match step(has(new), has(old)) {
                Step::Done => {}
                Step::Conflict => out.problems.push(RenameProblem {
                    address: addr,
                    message: format!(
                        "column `{new}` is renamed from `{old}`, but table `{name}` has both; \
                         renaming would need one of them dropped: drop the one you do not want \
                         by hand, or remove `renamed_from`"
                    ),
                }),
                Step::SourceGone => out.problems.push(RenameProblem {
                    address: addr,
                    message: format!(
                        "column `{new}` is renamed from `{old}`, but table `{name}` has neither: \
                         the rename's source is gone; remove `renamed_from` to add `{new}` empty"
                    ),
                }),
                Step::Rename => {
                    let column = out
                        .live
                        .to_mut()
                        .tables
                        .get_mut(name)
                        .and_then(|t| t.columns.iter_mut().find(|c| &c.name == old));
                    let Some(column) = column else {
                        continue;
                    };
                    column.name.clone_from(new);
                    let ty = column.ty;
                    let previous = Address::kusto_table(db, name).column(old);
                    out.changes.push(change(
                        (addr, previous),
                        format!(
                            "rename column {name}.{old} to {new} (its data is kept; queries, \
                             functions and mappings that use {old} fail until changed)"
                        ),
                        Side::new(format!("{old}: {ty}"), column_state(old, ty)),
                        Side::new(format!("{new}: {ty}"), column_state(new, ty)),
                        vec![render::rename_column(name, old, new)],
                        Phase::KustoTables,
                    ));
                }
            }
        }
    }
    for (new, f) in &want.functions {
        let Some(old) = &f.renamed_from else {
            continue;
        };
        let addr = Address::kusto_function(db, new);
        match step(
            out.live.functions.contains_key(new),
            out.live.functions.contains_key(old),
        ) {
            Step::Done => {}
            Step::Conflict => out.problems.push(RenameProblem {
                address: addr,
                message: format!(
                    "function `{new}` is renamed from `{old}`, but both exist in database \
                     `{db}`: drop the one you do not want by hand, or remove `renamed_from`"
                ),
            }),
            Step::SourceGone => out.problems.push(RenameProblem {
                address: addr,
                message: format!(
                    "function `{new}` is renamed from `{old}`, but neither exists in database \
                     `{db}`: the rename's source is gone; remove `renamed_from` to create `{new}`"
                ),
            }),
            Step::Rename => {
                // Validation admits scalar parameters only; a function it let through
                // without them is left to the function diff, which skips it too.
                let Some(parameters) = f.scalar_parameters() else {
                    continue;
                };
                let Some(current) = out.live.to_mut().functions.remove(old) else {
                    continue;
                };
                out.changes.push(change(
                    (addr, Address::kusto_function(db, old)),
                    format!(
                        "rename function {old} to {new}: Kusto has no function rename, so {new} \
                         is created as declared and {old} dropped in the same script (a function \
                         holds no data; queries, policies and functions that call {old} fail)"
                    ),
                    function_side(&current),
                    function_side(f),
                    vec![
                        render::create_or_alter_function(
                            new,
                            &parameters,
                            &f.body,
                            &f.folder,
                            &f.stored_docstring(),
                            f.skip_validation,
                        ),
                        render::drop_function(old),
                    ],
                    Phase::KustoFunctions,
                ));
                out.live.to_mut().functions.insert(new.clone(), f.clone());
            }
        }
    }
    for (new, v) in &want.materialized_views {
        let Some(old) = &v.renamed_from else {
            continue;
        };
        let addr = Address::kusto_materialized_view(db, new);
        match step(
            out.live.materialized_views.contains_key(new),
            out.live.materialized_views.contains_key(old),
        ) {
            Step::Done => {}
            Step::Conflict => out.problems.push(RenameProblem {
                address: addr,
                message: format!(
                    "materialized view `{new}` is renamed from `{old}`, but both exist in \
                     database `{db}`: drop the one you do not want by hand, or remove \
                     `renamed_from`"
                ),
            }),
            Step::SourceGone => out.problems.push(RenameProblem {
                address: addr,
                message: format!(
                    "materialized view `{new}` is renamed from `{old}`, but neither exists in \
                     database `{db}`: the rename's source is gone; remove `renamed_from` to \
                     create `{new}`"
                ),
            }),
            Step::Rename => {
                let Some(mut view) = out.live.to_mut().materialized_views.remove(old) else {
                    continue;
                };
                let before = view_side(&view);
                view.name = new.clone();
                out.changes.push(change(
                    (addr, Address::kusto_materialized_view(db, old)),
                    format!(
                        "rename materialized view {old} to {new} (its records move with it; \
                         queries that use {old} fail)"
                    ),
                    before,
                    view_side(&view),
                    vec![render::rename_materialized_view(old, new)],
                    Phase::KustoMaterializedViews,
                ));
                out.live
                    .to_mut()
                    .materialized_views
                    .insert(new.clone(), view);
            }
        }
    }
    out
}

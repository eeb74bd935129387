//! `.add|.drop|.set` of database and table principals, and their `.show` commands.

use super::super::clock;
use super::super::directory::{self, Resolved};
use super::super::error::KustoError;
use super::super::state::{Assignment, SandboxState};
use super::super::validate::PrincipalName;
use super::{Context, database, database_mut, results, table, table_mut};
use crate::kusto::command::{DatabaseRole, PrincipalAction, RoleScope, TableRef, TableRole};
use crate::kusto::v1::V1Table;

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Applies the action to one role's assignments. Adding an existing principal keeps its
/// assignment (and updates its notes when new notes are given); dropping an absent one is a
/// no-op.
fn apply<R: Copy + Eq>(
    assignments: &mut Vec<Assignment<R>>,
    role: R,
    action: PrincipalAction,
    names: &[Resolved],
    notes: Option<&str>,
) {
    if action == PrincipalAction::Drop {
        assignments.retain(|a| !(a.role == role && names.iter().any(|n| same(&n.fqn, &a.fqn))));
        return;
    }
    if action == PrincipalAction::Set {
        assignments.retain(|a| a.role != role || names.iter().any(|n| same(&n.fqn, &a.fqn)));
    }
    for name in names {
        match assignments
            .iter_mut()
            .find(|a| a.role == role && same(&a.fqn, &name.fqn))
        {
            Some(existing) => {
                if let Some(n) = notes {
                    existing.notes = n.to_string();
                }
            }
            None => assignments.push(Assignment {
                role,
                fqn: name.fqn.clone(),
                notes: notes.unwrap_or_default().to_string(),
                display: name.display.clone().unwrap_or_else(|| name.object.clone()),
                id: clock::new_guid(),
            }),
        }
    }
}

fn database_title(db: &str) -> impl Fn(DatabaseRole) -> String + '_ {
    move |r| format!("Database {db} {}", r.title())
}

fn table_title(t: &str) -> impl Fn(TableRole) -> String + '_ {
    move |r| format!("Table {t} {}", r.title())
}

pub(super) fn change(
    state: &mut SandboxState,
    ctx: Context<'_>,
    action: PrincipalAction,
    scope: &RoleScope,
    principals: &[String],
    skip_results: bool,
    notes: Option<&str>,
) -> Result<V1Table, KustoError> {
    let mut names = principals
        .iter()
        .map(|p| PrincipalName::parse(p).map(|n| directory::resolve(&n)))
        .collect::<Result<Vec<_>, _>>()?;
    for n in &mut names {
        match &n.display {
            Some(display) => {
                state.directory.insert(n.object.clone(), display.clone());
            }
            None => n.display = state.directory.get(&n.object).cloned(),
        }
    }
    let result = match scope {
        RoleScope::Database(db_name, role) => {
            let db = database_mut(state, db_name)?;
            apply(&mut db.principals, *role, action, &names, notes);
            results::principals(db.principals.iter(), database_title(db_name))
        }
        RoleScope::Table(t, role) => {
            let db = database_mut(state, ctx.resolve(t.database.as_deref()))?;
            let tb = table_mut(db, &t.table)?;
            apply(&mut tb.principals, *role, action, &names, notes);
            results::principals(tb.principals.iter(), table_title(&t.table))
        }
    };
    if skip_results {
        let mut empty = result;
        empty.rows.clear();
        return Ok(empty);
    }
    Ok(result)
}

pub(super) fn show_database(state: &SandboxState, name: &str) -> Result<V1Table, KustoError> {
    let db = database(state, name)?;
    Ok(results::principals(
        db.principals.iter(),
        database_title(name),
    ))
}

pub(super) fn show_table(
    state: &SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
) -> Result<V1Table, KustoError> {
    let tb = table(
        database(state, ctx.resolve(t.database.as_deref()))?,
        &t.table,
    )?;
    Ok(results::principals(
        tb.principals.iter(),
        table_title(&t.table),
    ))
}

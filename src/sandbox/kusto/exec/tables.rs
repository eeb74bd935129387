//! Table schema commands: create, create-merge, alter, alter-merge, alter column, drop
//! column, drop table, rename, docstring and folder.

use super::super::error::KustoError;
use super::super::state::{Column, SandboxState, Table};
use super::super::validate;
use super::{Context, database_mut, results, table_ref};
use crate::kusto::command::{ColumnDecl, Property, SchemaVerb, TableRef, TableRename};
use crate::kusto::v1::V1Table;
use crate::model::ColumnType;

/// `docstring` / `folder` from `with (...)`; anything else is rejected.
fn table_properties(props: &[Property]) -> Result<(Option<String>, Option<String>), KustoError> {
    let (mut docstring, mut folder) = (None, None);
    for p in props {
        match p.key.to_ascii_lowercase().as_str() {
            "docstring" => docstring = Some(p.value.clone()),
            "folder" => folder = Some(p.value.clone()),
            _ => {
                return Err(KustoError::bad_request(format!(
                    "Property '{}' is not supported for tables (supported: docstring, folder).",
                    p.key
                )));
            }
        }
    }
    Ok((docstring, folder))
}

fn check_columns(columns: &[ColumnDecl]) -> Result<(), KustoError> {
    for (i, c) in columns.iter().enumerate() {
        validate::entity_name("column", &c.name)?;
        if columns[..i].iter().any(|o| o.name == c.name) {
            return Err(KustoError::bad_request(format!(
                "Column '{}' is specified more than once.",
                c.name
            )));
        }
    }
    Ok(())
}

fn new_column(c: &ColumnDecl) -> Column {
    Column {
        name: c.name.clone(),
        ty: c.ty,
        data_nulled: false,
    }
}

/// Fails if a listed column exists with another type (only `.alter column` retypes).
fn check_no_retype(table: &Table, columns: &[ColumnDecl]) -> Result<(), KustoError> {
    for c in columns {
        if let Some(existing) = table.column(&c.name)
            && existing.ty != c.ty
        {
            return Err(KustoError::bad_request(format!(
                "Column '{}' already exists in table '{}' with type '{}'; changing it to '{}' requires '.alter column'.",
                c.name, table.name, existing.ty, c.ty
            )));
        }
    }
    Ok(())
}

fn add_missing(table: &mut Table, columns: &[ColumnDecl]) {
    for c in columns {
        if table.column(&c.name).is_none() {
            table.columns.push(new_column(c));
        }
    }
}

/// How many columns the table has once `verb` ran (checked before anything changes).
fn columns_after(existing: Option<&Table>, verb: SchemaVerb, columns: &[ColumnDecl]) -> usize {
    match (existing, verb) {
        (None, _) | (Some(_), SchemaVerb::Alter) => columns.len(),
        (Some(t), SchemaVerb::Create) => t.columns.len(),
        (Some(t), SchemaVerb::CreateMerge | SchemaVerb::AlterMerge) => {
            t.columns.len()
                + columns
                    .iter()
                    .filter(|c| t.column(&c.name).is_none())
                    .count()
        }
    }
}

pub(super) fn schema(
    state: &mut SandboxState,
    ctx: Context<'_>,
    verb: SchemaVerb,
    t: &TableRef,
    columns: &[ColumnDecl],
    props: &[Property],
) -> Result<V1Table, KustoError> {
    validate::entity_name("table", &t.table)?;
    check_columns(columns)?;
    let (docstring, folder) = table_properties(props)?;
    let db_name = ctx.resolve(t.database.as_deref());
    let db = database_mut(state, db_name)?;
    let exists = db.tables.contains_key(&t.table);
    validate::column_count(
        &t.table,
        columns_after(db.tables.get(&t.table).map(|t| &**t), verb, columns),
    )?;
    match (verb, exists) {
        (SchemaVerb::Create | SchemaVerb::CreateMerge, false) => {
            let mut table = Table::new(t.table.clone(), columns.iter().map(new_column).collect());
            table.docstring = docstring.unwrap_or_default();
            table.folder = folder.unwrap_or_default();
            db.tables.insert(t.table.clone(), table.into());
        }
        (SchemaVerb::Alter | SchemaVerb::AlterMerge, false) => {
            return Err(KustoError::entity_not_found("Table", &t.table));
        }
        // `.create table` on an existing table succeeds and changes nothing.
        (SchemaVerb::Create, true) => {}
        (SchemaVerb::CreateMerge | SchemaVerb::AlterMerge, true) => {
            let table = super::table_mut(db, &t.table)?;
            check_no_retype(table, columns)?;
            add_missing(table, columns);
            if let Some(d) = docstring {
                table.docstring = d;
            }
            if let Some(f) = folder {
                table.folder = f;
            }
        }
        (SchemaVerb::Alter, true) => {
            let table = super::table_mut(db, &t.table)?;
            check_no_retype(table, columns)?;
            // Exactly the listed columns, in the listed order; unlisted columns are dropped,
            // and so is their data.
            let dropped: Vec<String> = table
                .columns
                .iter()
                .filter(|c| !columns.iter().any(|d| d.name == c.name))
                .map(|c| c.name.clone())
                .collect();
            for extent in &mut table.extents {
                for name in &dropped {
                    extent.forget_column(name);
                }
            }
            table.columns = columns
                .iter()
                .map(|c| {
                    table
                        .column(&c.name)
                        .cloned()
                        .unwrap_or_else(|| new_column(c))
                })
                .collect();
            table.docstring = docstring.unwrap_or_default();
            table.folder = folder.unwrap_or_default();
        }
    }
    if !ctx.results {
        return Ok(results::discarded());
    }
    let db = database_mut(state, db_name)?;
    Ok(results::table_schema(db_name, super::table(db, &t.table)?))
}

pub(super) fn alter_column(
    state: &mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
    column: &str,
    ty: ColumnType,
) -> Result<V1Table, KustoError> {
    let (db, table) = table_ref(state, ctx, t)?;
    let col = table
        .columns
        .iter_mut()
        .find(|c| c.name == column)
        .ok_or_else(|| KustoError::entity_not_found("Column", column))?;
    if col.ty != ty {
        col.ty = ty;
        col.data_nulled = true;
        // Data ingested before the change reads as null from now on.
        for extent in &mut table.extents {
            extent.forget_column(column);
        }
    }
    Ok(results::table_schema(&db, table))
}

/// `.rename column T.Old to New`: the column keeps its type, position and data (every extent
/// holds its values under the new name from now on). Ingestion mappings are stored text and
/// are not rewritten: one that still names `Old` must be altered separately. Fails when `Old`
/// is missing or `New` exists, changing nothing.
pub(super) fn rename_column(
    state: &mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
    from: &str,
    to: &str,
) -> Result<V1Table, KustoError> {
    validate::entity_name("column", to)?;
    let (db, table) = table_ref(state, ctx, t)?;
    if table.column(to).is_some() {
        return Err(KustoError::already_exists("Column", to));
    }
    let col = table
        .columns
        .iter_mut()
        .find(|c| c.name == from)
        .ok_or_else(|| KustoError::entity_not_found("Column", from))?;
    col.name = to.to_string();
    for extent in &mut table.extents {
        for name in &mut extent.columns {
            if name == from {
                *name = to.to_string();
            }
        }
    }
    Ok(results::table_schema(&db, table))
}

pub(super) fn drop_column(
    state: &mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
    column: &str,
    if_exists: bool,
) -> Result<V1Table, KustoError> {
    let (db, table) = table_ref(state, ctx, t)?;
    let before = table.columns.len();
    table.columns.retain(|c| c.name != column);
    if table.columns.len() == before && !if_exists {
        return Err(KustoError::entity_not_found("Column", column));
    }
    if table.columns.is_empty() {
        return Err(KustoError::bad_request(format!(
            "Cannot drop column '{column}': table '{}' must keep at least one column.",
            table.name
        )));
    }
    for extent in &mut table.extents {
        extent.forget_column(column);
    }
    Ok(results::table_schema(&db, table))
}

pub(super) fn drop_table(
    state: &mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
    if_exists: bool,
) -> Result<V1Table, KustoError> {
    let db_name = ctx.resolve(t.database.as_deref());
    let db = database_mut(state, db_name)?;
    if db.tables.remove(&t.table).is_none() && !if_exists {
        return Err(KustoError::entity_not_found("Table", &t.table));
    }
    Ok(results::table_names(
        db_name,
        db.tables.values().map(|t| &**t),
    ))
}

/// `.rename table` (one pair) and `.rename tables` (several, as one transaction): every source
/// must exist (unless `ifexists`), and afterwards no two tables may share a name, so renaming
/// onto an existing table fails with the service's "already exists" error unless that table is
/// itself renamed away in the same command (a swap). Nothing changes when any pair fails.
pub(super) fn rename(
    state: &mut SandboxState,
    ctx: Context<'_>,
    renames: &[TableRename],
) -> Result<V1Table, KustoError> {
    let db_name = ctx.resolve(None);
    let db = database_mut(state, db_name)?;
    let mut pairs = Vec::new();
    for (i, r) in renames.iter().enumerate() {
        validate::entity_name("table", &r.to)?;
        if renames[..i].iter().any(|o| o.from == r.from) {
            return Err(KustoError::bad_request(format!(
                "Table '{}' is renamed more than once.",
                r.from
            )));
        }
        if renames[..i].iter().any(|o| o.to == r.to) {
            return Err(KustoError::bad_request(format!(
                "More than one table is renamed to '{}'.",
                r.to
            )));
        }
        if db.tables.contains_key(&r.from) {
            pairs.push(r);
        } else if !r.if_exists {
            return Err(KustoError::entity_not_found("Table", &r.from));
        }
    }
    let mut moved = Vec::with_capacity(pairs.len());
    for r in &pairs {
        if let Some(table) = db.tables.remove(&r.from) {
            moved.push((r.to.clone(), table));
        }
    }
    // Checked after every source left, so swaps and permutations are allowed; the caller
    // (exec::execute) discards the work copy on error, so a failure changes nothing.
    for (to, _) in &moved {
        if db.tables.contains_key(to) {
            return Err(KustoError::already_exists("Table", to));
        }
    }
    let renamed: Vec<String> = moved.iter().map(|(to, _)| to.clone()).collect();
    for (to, mut table) in moved {
        table.name.clone_from(&to);
        db.tables.insert(to, table);
    }
    Ok(results::table_names(
        db_name,
        renamed
            .iter()
            .filter_map(|n| db.tables.get(n))
            .map(|t| &**t),
    ))
}

pub(super) fn alter_details(
    state: &mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
    change: impl FnOnce(&mut Table),
) -> Result<V1Table, KustoError> {
    let (db, table) = table_ref(state, ctx, t)?;
    change(table);
    if !ctx.results {
        return Ok(results::discarded());
    }
    Ok(results::table_details(&db, std::iter::once(&*table)))
}

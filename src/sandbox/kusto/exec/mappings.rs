//! Ingestion mapping commands at table and database level.

use super::super::clock;
use super::super::error::KustoError;
use super::super::state::{Mapping, SandboxState};
use super::super::validate;
use super::results::{self, MappingRow};
use super::{Context, database, database_mut, table, table_mut};
use crate::kusto::command::{EntityRef, MappingVerb};
use crate::kusto::v1::V1Table;
use crate::model::MappingKind;

/// The mapping list of an entity, plus its database and table names.
fn mappings_mut<'s>(
    state: &'s mut SandboxState,
    ctx: Context<'_>,
    entity: &EntityRef,
) -> Result<&'s mut Vec<Mapping>, KustoError> {
    let db = database_mut(state, ctx.entity_database(entity))?;
    Ok(match entity {
        EntityRef::Table(t) => &mut table_mut(db, &t.table)?.mappings,
        EntityRef::Database(_) => &mut db.mappings,
    })
}

fn table_name(entity: &EntityRef) -> Option<&str> {
    match entity {
        EntityRef::Table(t) => Some(&t.table),
        EntityRef::Database(_) => None,
    }
}

pub(super) fn set(
    state: &mut SandboxState,
    ctx: Context<'_>,
    verb: MappingVerb,
    entity: &EntityRef,
    kind: MappingKind,
    name: &str,
    json: &str,
) -> Result<V1Table, KustoError> {
    validate::entity_name("ingestion mapping", name)?;
    let db_name = ctx.entity_database(entity);
    let db = database(state, db_name)?;
    let target_table = match entity {
        EntityRef::Table(t) => Some(table(db, &t.table)?),
        EntityRef::Database(_) => None,
    };
    let text = validate::mapping(name, kind, json, target_table)?;
    let list = mappings_mut(state, ctx, entity)?;
    let existing = list.iter().position(|m| m.name == name && m.kind == kind);
    let mapping = Mapping {
        name: name.to_string(),
        kind,
        mapping: text,
        last_updated: clock::now(),
    };
    let index = match (verb, existing) {
        (MappingVerb::Create, Some(_)) => {
            return Err(KustoError::already_exists("IngestionMapping", name));
        }
        (MappingVerb::Alter, None) => {
            return Err(KustoError::entity_not_found("IngestionMapping", name));
        }
        (_, Some(i)) => {
            list[i] = mapping;
            i
        }
        (_, None) => {
            list.push(mapping);
            list.len() - 1
        }
    };
    if !ctx.results {
        return Ok(results::discarded());
    }
    let row = MappingRow {
        mapping: &list[index],
        database: db_name,
        table: table_name(entity),
    };
    Ok(results::mappings(std::iter::once(row)))
}

pub(super) fn drop(
    state: &mut SandboxState,
    ctx: Context<'_>,
    entity: &EntityRef,
    kind: MappingKind,
    name: &str,
) -> Result<V1Table, KustoError> {
    let list = mappings_mut(state, ctx, entity)?;
    let before = list.len();
    list.retain(|m| !(m.name == name && m.kind == kind));
    if list.len() == before {
        return Err(KustoError::entity_not_found("IngestionMapping", name));
    }
    let db_name = ctx.entity_database(entity);
    let rows = list.iter().filter(|m| m.kind == kind).map(|m| MappingRow {
        mapping: m,
        database: db_name,
        table: table_name(entity),
    });
    Ok(results::mappings(rows))
}

/// Table scope lists that table's mappings; database scope lists the database-level
/// mappings and then every table's, so one call reads all mappings of a database.
pub(super) fn show(
    state: &SandboxState,
    ctx: Context<'_>,
    entity: &EntityRef,
    kind: Option<MappingKind>,
    name: Option<&str>,
) -> Result<V1Table, KustoError> {
    let db_name = ctx.entity_database(entity);
    let db = database(state, db_name)?;
    let mut rows: Vec<MappingRow<'_>> = Vec::new();
    match entity {
        EntityRef::Table(t) => {
            let tb = table(db, &t.table)?;
            rows.extend(tb.mappings.iter().map(|m| MappingRow {
                mapping: m,
                database: db_name,
                table: Some(&tb.name),
            }));
        }
        EntityRef::Database(_) => {
            rows.extend(db.mappings.iter().map(|m| MappingRow {
                mapping: m,
                database: db_name,
                table: None,
            }));
            for tb in db.tables.values() {
                rows.extend(tb.mappings.iter().map(|m| MappingRow {
                    mapping: m,
                    database: db_name,
                    table: Some(&tb.name),
                }));
            }
        }
    }
    rows.retain(|r| {
        kind.is_none_or(|k| r.mapping.kind == k) && name.is_none_or(|n| r.mapping.name == n)
    });
    if let Some(n) = name
        && rows.is_empty()
    {
        return Err(KustoError::entity_not_found("IngestionMapping", n));
    }
    Ok(results::mappings(rows.into_iter()))
}

//! Ingestion batching, streaming ingestion, retention and caching policies at table and
//! database level, and update policies of tables.

use super::super::error::KustoError;
use super::super::state::{BatchingPolicy, Database, SandboxState, StreamingPolicy, Table};
use super::super::validate;
use super::results::{self, PolicyRow};
use super::{Context, database, database_mut, table, table_mut};
use crate::kusto::command::{EntityRef, PolicyKind, PolicyShowTarget, PolicyTarget};
use crate::kusto::v1::V1Table;
use crate::model::{CachingPolicy, RetentionPolicy, UpdatePolicy, update_policies_json};

/// The two policy slots of a table or database.
struct Slots<'a> {
    batching: &'a mut Option<BatchingPolicy>,
    streaming: &'a mut Option<StreamingPolicy>,
    retention: &'a mut Option<RetentionPolicy>,
    caching: &'a mut Option<CachingPolicy>,
    /// A table's update policy; `None` for a database, which has none.
    update: Option<&'a mut Option<Vec<UpdatePolicy>>>,
}

fn db_slots(db: &mut Database) -> Slots<'_> {
    Slots {
        batching: &mut db.batching,
        streaming: &mut db.streaming,
        retention: &mut db.retention,
        caching: &mut db.caching,
        update: None,
    }
}

fn table_slots(t: &mut Table) -> Slots<'_> {
    Slots {
        batching: &mut t.batching,
        streaming: &mut t.streaming,
        retention: &mut t.retention,
        caching: &mut t.caching,
        update: Some(&mut t.update_policies),
    }
}

/// Validates `json` and stores it; `.alter` starts from defaults, `.alter-merge` from the
/// current value.
fn apply(slots: Slots<'_>, merge: bool, kind: PolicyKind, json: &str) -> Result<(), KustoError> {
    match kind {
        PolicyKind::IngestionBatching => {
            let base = match (merge, *slots.batching) {
                (true, Some(current)) => current,
                _ => validate::BATCHING_DEFAULTS,
            };
            *slots.batching = Some(validate::batching_policy(json, base)?);
        }
        PolicyKind::StreamingIngestion => {
            let base = if merge { *slots.streaming } else { None };
            *slots.streaming = Some(validate::streaming_policy(json, base)?);
        }
        PolicyKind::Retention => {
            let base = if merge { *slots.retention } else { None };
            *slots.retention = Some(validate::retention_policy(json, base)?);
        }
        PolicyKind::Caching => *slots.caching = Some(validate::caching_policy(json)?),
        // Update policies are validated against the database first (see `alter`).
        PolicyKind::Update => {
            let slot = slots.update.ok_or_else(no_database_update_policy)?;
            let entries = validate::update_policy(json)?;
            match (merge, slot.as_mut()) {
                (true, Some(current)) => current.extend(entries),
                _ => *slot = Some(entries),
            }
        }
    }
    Ok(())
}

/// Update policies belong to tables: the service has no database-level one.
fn no_database_update_policy() -> KustoError {
    KustoError::bad_request(
        "Update policies can only be set on tables: use '.alter table T policy update'",
    )
}

/// The policies of one table or database, read-only.
struct Stored<'a> {
    batching: Option<&'a BatchingPolicy>,
    streaming: Option<&'a StreamingPolicy>,
    retention: Option<&'a RetentionPolicy>,
    caching: Option<&'a CachingPolicy>,
    update: Option<&'a Vec<UpdatePolicy>>,
}

/// The stored policy of one kind, as the JSON `.show ... policy` reports.
fn policy_text(kind: PolicyKind, stored: Stored<'_>) -> Option<String> {
    match kind {
        PolicyKind::IngestionBatching => stored.batching.map(validate::batching_json),
        PolicyKind::StreamingIngestion => stored.streaming.map(validate::streaming_json),
        PolicyKind::Retention => stored.retention.map(|p| p.to_json().to_string()),
        PolicyKind::Caching => stored.caching.map(|p| p.to_json().to_string()),
        PolicyKind::Update => stored
            .update
            .map(|entries| update_policies_json(entries).to_string()),
    }
}

fn table_row(kind: PolicyKind, db_name: &str, t: &Table) -> PolicyRow {
    PolicyRow {
        entity_name: format!("[{db_name}].[{}]", t.name),
        policy: policy_text(
            kind,
            Stored {
                batching: t.batching.as_ref(),
                streaming: t.streaming.as_ref(),
                retention: t.retention.as_ref(),
                caching: t.caching.as_ref(),
                update: t.update_policies.as_ref(),
            },
        ),
        child_entities: String::new(),
        entity_type: "Table",
    }
}

fn database_row(kind: PolicyKind, db_name: &str, db: &Database) -> PolicyRow {
    let children: Vec<&String> = db.tables.keys().collect();
    PolicyRow {
        entity_name: format!("[{db_name}]"),
        policy: policy_text(
            kind,
            Stored {
                batching: db.batching.as_ref(),
                streaming: db.streaming.as_ref(),
                retention: db.retention.as_ref(),
                caching: db.caching.as_ref(),
                update: None,
            },
        ),
        child_entities: serde_json::Value::from(
            children.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        )
        .to_string(),
        entity_type: "Database",
    }
}

pub(super) fn alter(
    state: &mut SandboxState,
    ctx: Context<'_>,
    merge: bool,
    target: &PolicyTarget,
    kind: PolicyKind,
    json: &str,
) -> Result<V1Table, KustoError> {
    let mut rows = Vec::new();
    match target {
        PolicyTarget::Database(_) if kind == PolicyKind::Update => {
            return Err(no_database_update_policy());
        }
        PolicyTarget::Database(name) => {
            let db = database_mut(state, name)?;
            apply(db_slots(db), merge, kind, json)?;
            if ctx.results {
                rows.push(database_row(kind, name, db));
            }
        }
        PolicyTarget::Tables(tables) => {
            for t in tables {
                let db_name = ctx.resolve(t.database.as_deref());
                if kind == PolicyKind::Update {
                    let db = database(state, db_name)?;
                    let target = table(db, &t.table)?;
                    for entry in validate::update_policy(json)? {
                        super::update_policies::check(db, target, &entry)?;
                    }
                }
                let tb = table_mut(database_mut(state, db_name)?, &t.table)?;
                apply(table_slots(tb), merge, kind, json)?;
                if ctx.results {
                    rows.push(table_row(kind, db_name, tb));
                }
            }
        }
    }
    if !ctx.results {
        return Ok(results::discarded());
    }
    Ok(results::policies(kind.policy_name(), rows.into_iter()))
}

pub(super) fn delete(
    state: &mut SandboxState,
    ctx: Context<'_>,
    entity: &EntityRef,
    kind: PolicyKind,
) -> Result<V1Table, KustoError> {
    let db_name = ctx.entity_database(entity);
    let db = database_mut(state, db_name)?;
    let row = match entity {
        EntityRef::Database(_) if kind == PolicyKind::Update => {
            return Err(no_database_update_policy());
        }
        EntityRef::Database(_) => {
            clear(db_slots(db), kind);
            database_row(kind, db_name, db)
        }
        EntityRef::Table(t) => {
            let tb = table_mut(db, &t.table)?;
            clear(table_slots(tb), kind);
            table_row(kind, db_name, tb)
        }
    };
    Ok(results::policies(kind.policy_name(), std::iter::once(row)))
}

fn clear(slots: Slots<'_>, kind: PolicyKind) {
    match kind {
        PolicyKind::IngestionBatching => *slots.batching = None,
        PolicyKind::StreamingIngestion => *slots.streaming = None,
        PolicyKind::Retention => *slots.retention = None,
        PolicyKind::Caching => *slots.caching = None,
        PolicyKind::Update => {
            if let Some(slot) = slots.update {
                *slot = None;
            }
        }
    }
}

pub(super) fn show(
    state: &SandboxState,
    ctx: Context<'_>,
    target: &PolicyShowTarget,
    kind: PolicyKind,
) -> Result<V1Table, KustoError> {
    let rows: Vec<PolicyRow> = match target {
        PolicyShowTarget::Database(_) if kind == PolicyKind::Update => {
            return Err(no_database_update_policy());
        }
        PolicyShowTarget::Database(name) => vec![database_row(kind, name, database(state, name)?)],
        PolicyShowTarget::Table(t) => {
            let db_name = ctx.resolve(t.database.as_deref());
            vec![table_row(
                kind,
                db_name,
                table(database(state, db_name)?, &t.table)?,
            )]
        }
        PolicyShowTarget::AllTables => {
            let db_name = ctx.resolve(None);
            let db = database(state, db_name)?;
            db.tables
                .values()
                .map(|t| table_row(kind, db_name, t))
                .collect()
        }
    };
    Ok(results::policies(kind.policy_name(), rows.into_iter()))
}

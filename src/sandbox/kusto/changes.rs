//! What one committed command changed in the state, as the journal records it: the new value
//! of every touched object (a database's own settings, a table with its rows, the directory,
//! the ingestion failures) or its removal, and for an ingestion only the extents it added, so
//! appending rows never rewrites the rows a table already holds.
//!
//! Replaying a record is idempotent: values are absolute, and an added extent that the table
//! already holds (same id) or whose table is gone is skipped. A journal replayed over a
//! snapshot that already holds its records (a crash between writing a snapshot and emptying
//! the journal) therefore gives the same state: every object ends as the last record touching
//! it left it, and an object no record touches keeps the snapshot's value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::state::{Database, Extent, IngestionFailure, SandboxState, Shared, Table};

/// The new value of one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A database's own settings and version (its tables are separate changes); `None` when
    /// it is gone.
    Database {
        /// Database name.
        name: String,
        /// The database without its tables (boxed: the other changes are small).
        value: Option<Box<Database>>,
    },
    /// One table, rows included; `None` when it was dropped (or renamed away).
    Table {
        /// Its database.
        database: String,
        /// Table name.
        name: String,
        /// The table (shared with the state it was read from: recording a change copies nothing).
        value: Option<Shared<Table>>,
    },
    /// Extents appended to a table (an ingestion), nothing else of the table changed.
    Extents {
        /// Its database.
        database: String,
        /// Table name.
        table: String,
        /// The new extents, in order.
        added: Vec<Extent>,
    },
    /// The built-in directory's memory of names.
    Directory(BTreeMap<String, String>),
    /// The recorded ingestion failures (bounded, so small).
    IngestionFailures(Vec<IngestionFailure>),
}

/// The changes that turn `before` into `after`, by comparing object by object. Costs one
/// in-memory comparison of the state (what deciding whether a command changed anything cost
/// already), but what is written is only what differs.
pub fn between(before: &SandboxState, after: &SandboxState) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, db) in &after.databases {
        let old = before.databases.get(name);
        if old.is_none_or(|o| o.minor_version != db.minor_version || !o.same_settings(db)) {
            changes.push(Change::Database {
                name: name.clone(),
                value: Some(Box::new(db.clone_without_tables())),
            });
        }
        match old {
            Some(o) if Shared::same(&o.tables, &db.tables) => {}
            Some(o) => table_changes(name, &o.tables, &db.tables, &mut changes),
            None => table_changes(name, &BTreeMap::new(), &db.tables, &mut changes),
        }
    }
    for name in before.databases.keys() {
        if !after.databases.contains_key(name) {
            changes.push(Change::Database {
                name: name.clone(),
                value: None,
            });
        }
    }
    changes.extend(settings(before, after));
    changes
}

/// Adds the changes that turn one database's tables `before` into `after`: the tables written,
/// in name order, then those gone. Both maps are sorted by name, so they are walked side by side:
/// a table nobody wrote (the same shared value on both sides) costs one pointer comparison, not
/// a lookup by name, which kept every script's cost proportional to the database's size.
fn table_changes(
    database: &str,
    before: &BTreeMap<String, Shared<Table>>,
    after: &BTreeMap<String, Shared<Table>>,
    changes: &mut Vec<Change>,
) {
    let mut gone = Vec::new();
    let mut old = before.iter().peekable();
    for (table, value) in after {
        while let Some((name, _)) = old.next_if(|(name, _)| *name < table) {
            gone.push(name);
        }
        match old.next_if(|(name, _)| *name == table) {
            Some((_, old)) if old == value => {}
            Some((_, old)) if only_appended(old, value) => changes.push(Change::Extents {
                database: database.to_string(),
                table: table.clone(),
                added: value.extents[old.extents.len()..].to_vec(),
            }),
            _ => changes.push(table_change(database, table, Some(value))),
        }
    }
    gone.extend(old.map(|(name, _)| name));
    for table in gone {
        changes.push(table_change(database, table, None));
    }
}

/// Whether `new` is `old` with extents appended and nothing else changed.
fn only_appended(old: &Table, new: &Table) -> bool {
    let Table {
        name,
        columns,
        docstring,
        folder,
        mappings,
        batching,
        streaming,
        retention,
        caching,
        update_policies,
        principals,
        extents,
    } = old;
    *name == new.name
        && *columns == new.columns
        && *docstring == new.docstring
        && *folder == new.folder
        && *mappings == new.mappings
        && *batching == new.batching
        && *streaming == new.streaming
        && *retention == new.retention
        && *caching == new.caching
        && *update_policies == new.update_policies
        && *principals == new.principals
        && new.extents.len() > extents.len()
        && new.extents.starts_with(extents)
}

/// The changes of an ingestion into `database` that added `added` (table, extent id) pairs
/// (the target's and those of the update policies it fed), plus the ingestion failures when
/// they differ from `failures_before`. Costs what was ingested, whatever the state's size.
pub fn ingested(
    state: &SandboxState,
    database: &str,
    added: &[(String, String)],
    failures_before: &[IngestionFailure],
) -> Vec<Change> {
    let mut changes = Vec::new();
    let db = state.databases.get(database);
    for (table, id) in added {
        let extent = db
            .and_then(|d| d.tables.get(table))
            .and_then(|t| t.extents.iter().rev().find(|e| e.id == *id));
        changes.push(Change::Extents {
            database: database.to_string(),
            table: table.clone(),
            added: extent.into_iter().cloned().collect(),
        });
    }
    if state.ingestion_failures != failures_before {
        changes.push(Change::IngestionFailures(state.ingestion_failures.clone()));
    }
    changes
}

fn table_change(database: &str, name: &str, value: Option<&Shared<Table>>) -> Change {
    Change::Table {
        database: database.to_string(),
        name: name.to_string(),
        value: value.cloned(),
    }
}

fn settings(before: &SandboxState, after: &SandboxState) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.directory != after.directory {
        changes.push(Change::Directory(after.directory.clone()));
    }
    if before.ingestion_failures != after.ingestion_failures {
        changes.push(Change::IngestionFailures(after.ingestion_failures.clone()));
    }
    changes
}

/// Applies `changes` in order. A table of a database the state does not hold means the
/// journal does not belong to this snapshot: an error, never a silent skip.
pub fn apply(state: &mut SandboxState, changes: Vec<Change>) -> Result<(), String> {
    for change in changes {
        match change {
            Change::Database {
                name,
                value: Some(mut value),
            } => {
                if let Some(old) = state.databases.get_mut(&name) {
                    value.tables = std::mem::take(&mut old.tables);
                }
                state.databases.insert(name, *value);
            }
            Change::Database { name, value: None } => {
                state.databases.remove(&name);
            }
            Change::Table {
                database,
                name,
                value,
            } => {
                let db = state.databases.get_mut(&database).ok_or_else(|| {
                    format!("the journal changes table '{name}' of unknown database '{database}'")
                })?;
                match value {
                    Some(table) => db.tables.insert(name, table),
                    None => db.tables.remove(&name),
                };
            }
            Change::Extents {
                database,
                table,
                added,
            } => {
                let Some(t) = state
                    .databases
                    .get_mut(&database)
                    .and_then(|d| d.tables.get_mut(&table))
                else {
                    // Dropped by a later record this snapshot already holds.
                    continue;
                };
                for extent in added {
                    if !t.extents.iter().any(|e| e.id == extent.id) {
                        t.extents.push(extent);
                    }
                }
            }
            Change::Directory(directory) => state.directory = directory,
            Change::IngestionFailures(failures) => state.ingestion_failures = failures,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColumnType;
    use crate::sandbox::kusto::state::Column;

    fn table(name: &str) -> Table {
        Table::new(
            name.to_string(),
            vec![Column {
                name: "A".to_string(),
                ty: ColumnType::Long,
                data_nulled: false,
            }],
        )
    }

    fn state() -> SandboxState {
        let mut s = SandboxState::default();
        let mut db = Database::new("id".to_string());
        for t in ["T1", "T2", "T3"] {
            db.tables.insert(t.to_string(), table(t).into());
        }
        s.databases.insert("db".to_string(), db);
        s
    }

    #[test]
    fn only_touched_objects_are_recorded_and_replay_gives_the_after_state() {
        let before = state();
        let mut after = before.clone();
        let db = after.databases.get_mut("db").expect("db");
        db.tables.get_mut("T1").expect("T1").folder = "f".to_string();
        db.tables.remove("T2");
        db.minor_version += 1;
        after
            .directory
            .insert("oid".to_string(), "name".to_string());
        let changes = between(&before, &after);
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(
            !changes
                .iter()
                .any(|c| matches!(c, Change::Table { name, .. } if name == "T3"))
        );
        let mut replayed = before.clone();
        apply(&mut replayed, changes.clone()).expect("apply");
        assert_eq!(replayed, after);
        apply(&mut replayed, changes).expect("replay twice");
        assert_eq!(replayed, after, "replaying is idempotent");
        assert!(between(&after, &after).is_empty());
    }

    #[test]
    fn tables_written_added_and_gone_anywhere_in_name_order_are_all_found() {
        let before = state();
        let mut after = before.clone();
        let db = after.databases.get_mut("db").expect("db");
        // Gone before, between and after the kept names; added at both ends and in between.
        for gone in ["T1", "T3"] {
            db.tables.remove(gone);
        }
        for added in ["A0", "T25", "Z9"] {
            db.tables.insert(added.to_string(), table(added).into());
        }
        db.tables.get_mut("T2").expect("T2").docstring = "d".to_string();
        let names: Vec<(String, bool)> = between(&before, &after)
            .into_iter()
            .map(|c| match c {
                Change::Table { name, value, .. } => (name, value.is_some()),
                other => panic!("only tables changed: {other:?}"),
            })
            .collect();
        let expected = [
            ("A0", true),
            ("T2", true),
            ("T25", true),
            ("Z9", true),
            ("T1", false),
            ("T3", false),
        ];
        assert_eq!(
            names,
            expected.map(|(n, present)| (n.to_string(), present)),
            "written tables in name order, then those gone"
        );
        let mut replayed = before.clone();
        apply(&mut replayed, between(&before, &after)).expect("apply");
        assert_eq!(replayed, after);
        let from_empty = SandboxState::default();
        assert_eq!(
            between(&from_empty, &before).len(),
            4,
            "the database and its 3 tables"
        );
    }

    #[test]
    fn a_table_of_an_unknown_database_is_an_error() {
        let mut s = SandboxState::default();
        let err = apply(
            &mut s,
            vec![table_change("nope", "T", Some(&table("T").into()))],
        )
        .expect_err("unknown database");
        assert!(err.contains("unknown database 'nope'"), "{err}");
    }
}

//! Desired state: a valid stack turned into the canonical model the diff compares.

use std::collections::BTreeMap;

use super::Manifests;
use super::spec::{BatchingSpec, MappingSpec, PrincipalSpec, TableDoc};
use crate::model::BatchingPolicy;
use crate::model::kusto::{
    Column, DatabaseState, KustoState, Mapping, MappingColumn, RoleKey, TableState,
};
use crate::model::{ColumnType, MappingKind, PrincipalKind, PrincipalRef, Timespan};

/// The Kusto state the stack declares. Call only on a stack that passed validation: invalid
/// values that validation rejects are skipped here rather than reported twice.
pub fn kusto_state(m: &Manifests) -> KustoState {
    let owner = m.stack.as_ref().map(|s| s.name.value.clone());
    let mut state = KustoState::default();
    for db in &m.databases {
        state.databases.insert(
            db.name.value.clone(),
            DatabaseState {
                name: db.name.value.clone(),
                tables: BTreeMap::new(),
                batching: db.ingestion_batching.as_ref().map(|b| batching(b)),
                streaming: db.streaming_ingestion.as_ref().is_some_and(|s| s.value),
                principals: principals(&db.principals.roles()),
            },
        );
    }
    for t in &m.tables {
        let db_name = t
            .database
            .as_ref()
            .map(|d| d.value.clone())
            .or_else(|| m.databases.first().map(|d| d.name.value.clone()))
            .unwrap_or_default();
        if let Some(db) = state.databases.get_mut(&db_name) {
            db.tables
                .insert(t.name.value.clone(), table(t, owner.clone()));
        }
    }
    state
}

fn table(t: &TableDoc, owner: Option<String>) -> TableState {
    TableState {
        name: t.name.value.clone(),
        columns: t
            .columns
            .iter()
            .filter_map(|c| {
                ColumnType::parse(&c.ty).map(|ty| Column {
                    name: c.name.value.clone(),
                    ty,
                })
            })
            .collect(),
        docstring: t.docstring.clone().unwrap_or_default(),
        folder: t.folder.clone().unwrap_or_default(),
        owner,
        mappings: t
            .mappings
            .iter()
            .filter_map(mapping)
            .map(|m| (m.key(), m))
            .collect(),
        batching: t.ingestion_batching.as_ref().map(|b| batching(b)),
        streaming: t.streaming_ingestion.as_ref().is_some_and(|s| s.value),
        principals: principals(&t.principals.roles()),
    }
}

fn mapping(m: &MappingSpec) -> Option<Mapping> {
    let kind = MappingKind::parse(&m.kind)?;
    let columns = m
        .columns
        .iter()
        .map(|c| {
            let mut properties = BTreeMap::new();
            let mut put = |key: &str, value: Option<String>| {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    properties.insert(key.to_string(), v);
                }
            };
            put("Path", c.path.as_ref().map(|p| p.value.clone()));
            put("Ordinal", c.ordinal.as_ref().map(|o| o.value.to_string()));
            put("ConstValue", c.const_value.clone());
            put("Transform", c.transform.as_ref().map(|t| t.value.clone()));
            MappingColumn {
                column: c.column.value.clone(),
                datatype: c.datatype.as_ref().and_then(|d| ColumnType::parse(d)),
                properties,
            }
        })
        .collect();
    Some(Mapping {
        kind,
        name: m.name.value.clone(),
        columns,
    })
}

fn batching(b: &BatchingSpec) -> BatchingPolicy {
    let d = BatchingPolicy::DEFAULTS;
    BatchingPolicy {
        max_time: b
            .max_time
            .as_ref()
            .and_then(|t| Timespan::parse(t))
            .unwrap_or(d.max_time),
        max_items: b.max_items.as_ref().map_or(d.max_items, |n| n.value),
        max_raw_size_mb: b
            .max_raw_size_mb
            .as_ref()
            .map_or(d.max_raw_size_mb, |n| n.value),
    }
}

/// The principal a manifest entry names.
pub fn principal_ref(p: &PrincipalSpec) -> Option<PrincipalRef> {
    let (kind, id) = match (&p.app, &p.user, &p.group) {
        (Some(id), None, None) => (PrincipalKind::App, id),
        (None, Some(id), None) => (PrincipalKind::User, id),
        (None, None, Some(id)) => (PrincipalKind::Group, id),
        _ => return None,
    };
    Some(PrincipalRef::new(kind, id, p.tenant.as_deref()))
}

fn principals(
    roles: &[(&'static str, &[super::located::Located<PrincipalSpec>])],
) -> BTreeMap<RoleKey, Option<String>> {
    roles
        .iter()
        .flat_map(|(role, list)| {
            list.iter().filter_map(move |p| {
                principal_ref(p).map(|r| {
                    (
                        RoleKey::new(role, &r),
                        p.notes.clone().filter(|n| !n.is_empty()),
                    )
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load};

    #[test]
    fn gameplay_becomes_the_walkthrough_state() {
        let m = load(&["examples/gameplay".into()], &LoadOptions::default()).unwrap();
        let state = kusto_state(&m);
        let db = &state.databases["gamedb"];
        let t = &db.tables["GamePlay"];
        let cols: Vec<(&str, &str)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.as_kql()))
            .collect();
        assert_eq!(
            cols,
            vec![
                ("PlayerID", "int"),
                ("GameID", "int"),
                ("Win", "long"),
                ("Score", "int"),
                ("EventTime", "datetime")
            ]
        );
        assert_eq!(t.owner.as_deref(), Some("gameplay"));
        assert_eq!(
            t.batching,
            Some(BatchingPolicy {
                max_time: Timespan::from_secs(10),
                max_items: 5,
                max_raw_size_mb: 100
            })
        );
        let mapping = &t.mappings["json:gameplay_json_mapping"];
        assert_eq!(mapping.columns[0].properties["Path"], "$.playerId");
        assert_eq!(mapping.columns[4].datatype, Some(ColumnType::DateTime));
        let admins: Vec<(&RoleKey, &Option<String>)> = db.principals.iter().collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0].0.role, "admins");
        assert_eq!(
            admins[0].0.fqn,
            "aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2"
        );
        assert_eq!(admins[0].1.as_deref(), Some("AAD App"));
    }
}

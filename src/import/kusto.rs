//! Kusto databases, tables and stored functions as `Database`, `Table` and `Function` documents: the inverse of
//! [`crate::manifest::desired::kusto_state`], so the documents written here turn back into exactly
//! the observed state.

use std::collections::BTreeMap;

use super::yaml::{MapBuilder, Node};
use crate::model::function::normalize_body;
use crate::model::kusto::{DatabaseState, Mapping, RoleKey, TableState};
use crate::model::{
    BatchingPolicy, CachingPolicy, PrincipalKind, PrincipalRef, RetentionPolicy, UpdatePolicy,
};
use crate::model::{Function, MaterializedView};

/// The `Database` document of one database (policies and database principals).
pub fn database_doc(db: &DatabaseState, notes: &mut Vec<String>) -> Node {
    MapBuilder::default()
        .put("kind", Node::str("Database"))
        .put("name", Node::str(&db.name))
        .opt("ingestion_batching", db.batching.as_ref().map(batching))
        .opt(
            "streaming_ingestion",
            db.streaming.then_some(Node::Bool(true)),
        )
        .opt("retention", db.retention.as_ref().map(retention))
        .opt("caching", db.caching.as_ref().map(caching))
        .opt(
            "principals",
            roles(
                &db.principals,
                &DATABASE_ROLES,
                &format!("kusto.{}", db.name),
                notes,
            ),
        )
        .block()
}

/// The `Table` document of one table. The database is always written, so the file stays right
/// when more databases are declared later.
pub fn table_doc(db: &str, t: &TableState, notes: &mut Vec<String>) -> Node {
    let address = format!("kusto.{db}.table.{}", t.name);
    MapBuilder::default()
        .put("kind", Node::str("Table"))
        .put("name", Node::str(&t.name))
        .put("database", Node::str(db))
        .opt(
            "folder",
            (!t.folder.is_empty()).then(|| Node::str(&t.folder)),
        )
        .opt(
            "docstring",
            (!t.docstring.is_empty()).then(|| Node::str(&t.docstring)),
        )
        .put(
            "columns",
            Node::Seq(
                t.columns
                    .iter()
                    .map(|c| {
                        MapBuilder::default()
                            .put("name", Node::str(&c.name))
                            .put("type", Node::str(c.ty.as_kql()))
                            .flow()
                    })
                    .collect(),
            ),
        )
        .opt(
            "mappings",
            (!t.mappings.is_empty()).then(|| {
                Node::Seq(
                    t.mappings
                        .values()
                        .map(|m| mapping(m, &address, notes))
                        .collect(),
                )
            }),
        )
        .opt("ingestion_batching", t.batching.as_ref().map(batching))
        .opt("streaming_ingestion", t.streaming.map(Node::Bool))
        .opt(
            "update_policies",
            update_policies(t.update_policies.as_deref(), &address, notes),
        )
        .opt(
            "principals",
            roles(&t.principals, &TABLE_ROLES, &address, notes),
        )
        .block()
}

/// The `MaterializedView` document of one view. The query is written as a literal block
/// without its common indentation (whitespace is not compared); `backfill` is a creation
/// option the service does not keep, so it is not written (the view exists already).
pub fn materialized_view_doc(db: &str, v: &MaterializedView) -> Node {
    MapBuilder::default()
        .put("kind", Node::str("MaterializedView"))
        .put("name", Node::str(&v.name))
        .put("database", Node::str(db))
        .put("source", Node::str(&v.source))
        .opt(
            "folder",
            (!v.folder.is_empty()).then(|| Node::str(&v.folder)),
        )
        .opt(
            "docstring",
            (!v.docstring.is_empty()).then(|| Node::str(&v.docstring)),
        )
        .opt("lookback", v.lookback.map(|l| Node::str(l.to_string())))
        .opt(
            "auto_update_schema",
            (v.auto_update_schema == Some(true)).then_some(Node::Bool(true)),
        )
        .put("query", Node::Text(dedent(&v.query)))
        .block()
}

/// The `Function` document of one stored function, or `None` (with a note) when its
/// parameters cannot be declared (tabular ones, default values). The body is written as a
/// literal block without its common indentation: whitespace is not compared, so it plans
/// clean and reads like the function as written.
pub fn function_doc(db: &str, f: &Function, notes: &mut Vec<String>) -> Option<Node> {
    let Some(parameters) = f.scalar_parameters() else {
        notes.push(format!(
            "kusto.{db}.function.{}: its parameters {} include tabular parameters or default values, which manifests cannot declare; it is left out (and left alone by plans)",
            f.name,
            f.parameters_text()
        ));
        return None;
    };
    Some(
        MapBuilder::default()
            .put("kind", Node::str("Function"))
            .put("name", Node::str(&f.name))
            .put("database", Node::str(db))
            .opt(
                "folder",
                (!f.folder.is_empty()).then(|| Node::str(&f.folder)),
            )
            .opt(
                "docstring",
                (!f.docstring.is_empty()).then(|| Node::str(&f.docstring)),
            )
            .opt(
                "parameters",
                (!parameters.is_empty()).then(|| {
                    Node::Seq(
                        parameters
                            .iter()
                            .map(|(name, ty)| {
                                MapBuilder::default()
                                    .put("name", Node::str(*name))
                                    .put("type", Node::str(ty.as_kql()))
                                    .flow()
                            })
                            .collect(),
                    )
                }),
            )
            .put("body", Node::Text(dedent(&f.body)))
            .block(),
    )
}

/// The lines of `text` without blank lines around them, trailing blanks and the indentation
/// they all share; `text` merely trimmed when that would change it in more than whitespace
/// (inside a multi-line string literal).
fn dedent(text: &str) -> String {
    let dedented = dedent_lines(text);
    if normalize_body(&dedented) == normalize_body(text) {
        dedented
    } else {
        text.trim().to_string()
    }
}

fn dedent_lines(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.trim_matches('\n').lines().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// A table's update policy entries, or `None` (with a note) when an entry has a wildcard
/// source, which manifests cannot declare: the policy is then left out, and so left alone by
/// plans. `transactional` is always written (production policies should say it); the other
/// flags only where they differ from their defaults.
fn update_policies(
    entries: Option<&[UpdatePolicy]>,
    address: &str,
    notes: &mut Vec<String>,
) -> Option<Node> {
    let entries = entries.filter(|e| !e.is_empty())?;
    if let Some(wildcard) = entries.iter().find(|e| e.source_is_wildcard) {
        notes.push(format!(
            "{address}.policy.update: the entry from `{}` has a wildcard source, which manifests cannot declare; the update policy is left out (and left alone by plans)",
            wildcard.source
        ));
        return None;
    }
    Some(Node::Seq(
        entries
            .iter()
            .map(|e| {
                let query = if e.query.contains('\n') {
                    Node::Text(e.query.clone())
                } else {
                    Node::str(&e.query)
                };
                MapBuilder::default()
                    .put("source", Node::str(&e.source))
                    .put("query", query)
                    .put("transactional", Node::Bool(e.transactional))
                    .opt(
                        "propagate_ingestion_properties",
                        e.propagate_ingestion_properties.then_some(Node::Bool(true)),
                    )
                    .opt(
                        "managed_identity",
                        e.managed_identity.as_deref().map(Node::str),
                    )
                    .opt("enabled", (!e.enabled).then_some(Node::Bool(false)))
                    .block()
            })
            .collect(),
    ))
}

/// Every field written, so the policy reads back the same whatever Kusto's defaults become.
/// Both fields written, so the policy reads back the same whatever the defaults become.
fn retention(p: &RetentionPolicy) -> Node {
    MapBuilder::default()
        .put("soft_delete", Node::str(p.soft_delete.to_string()))
        .put(
            "recoverability",
            Node::str(if p.recoverable { "enabled" } else { "disabled" }),
        )
        .block()
}

fn caching(p: &CachingPolicy) -> Node {
    MapBuilder::default()
        .put("hot", Node::str(p.hot.to_string()))
        .opt(
            "hot_windows",
            (!p.hot_windows.is_empty()).then(|| {
                Node::Seq(
                    p.hot_windows
                        .iter()
                        .map(|w| {
                            MapBuilder::default()
                                .put("from", Node::str(&w.from))
                                .put("to", Node::str(&w.to))
                                .flow()
                        })
                        .collect(),
                )
            }),
        )
        .block()
}

fn batching(p: &BatchingPolicy) -> Node {
    MapBuilder::default()
        .put("max_time", Node::str(p.max_time.to_string()))
        .put("max_items", Node::Int(p.max_items))
        .put("max_raw_size_mb", Node::Int(p.max_raw_size_mb))
        .block()
}

/// Mapping properties the manifest language has a field for, with that field's name.
const MAPPING_FIELDS: [(&str, &str); 4] = [
    ("Path", "path"),
    ("Ordinal", "ordinal"),
    ("ConstValue", "const_value"),
    ("Transform", "transform"),
];

fn mapping(m: &Mapping, address: &str, notes: &mut Vec<String>) -> Node {
    let columns = m
        .columns
        .iter()
        .map(|c| {
            let mut row = MapBuilder::default().put("column", Node::str(&c.column));
            for (property, field) in MAPPING_FIELDS {
                let Some(value) = c.properties.get(property) else {
                    continue;
                };
                let node = match (field, value.parse::<u64>()) {
                    ("ordinal", Ok(n)) => Node::Int(n),
                    _ => Node::str(value),
                };
                row = row.put(field, node);
            }
            for property in c.properties.keys() {
                if !MAPPING_FIELDS.iter().any(|(p, _)| *p == property) {
                    notes.push(format!(
                        "{address}.mapping.{}: column {} has the property `{property}`, which manifests cannot express; it is left out, so the plan will show this mapping changing",
                        m.name, c.column
                    ));
                }
            }
            row.opt("datatype", c.datatype.map(|t| Node::str(t.as_kql())))
                .flow()
        })
        .collect();
    MapBuilder::default()
        .put("name", Node::str(&m.name))
        .put("kind", Node::str(m.kind.as_kql()))
        .put("columns", Node::Seq(columns))
        .block()
}

/// Database roles in the order `Database` documents list them.
const DATABASE_ROLES: [&str; 6] = [
    "admins",
    "users",
    "viewers",
    "unrestrictedviewers",
    "ingestors",
    "monitors",
];
/// The table roles manifests declare.
const TABLE_ROLES: [&str; 2] = ["admins", "ingestors"];

/// Principals grouped by role, in the order of `allowed`; principals in other roles are noted
/// and left out (manifests cannot declare them).
fn roles(
    principals: &BTreeMap<RoleKey, Option<String>>,
    allowed: &[&str],
    address: &str,
    notes: &mut Vec<String>,
) -> Option<Node> {
    for key in principals
        .keys()
        .filter(|k| !allowed.contains(&k.role.as_str()))
    {
        notes.push(format!(
            "{address}: `{}` holds the role {}, which manifests cannot declare here; it is left out",
            key.fqn, key.role
        ));
    }
    let mut by_role: Vec<(String, Node)> = Vec::new();
    for &role in allowed {
        let entries: Vec<Node> = principals
            .iter()
            .filter(|(k, _)| k.role == role)
            .filter_map(|(k, notes_text)| {
                let Some(p) = PrincipalRef::parse_fqn(&k.fqn) else {
                    notes.push(format!(
                        "{address}: principal `{}` in {role} is not an AAD app, user or group; it is left out",
                        k.fqn
                    ));
                    return None;
                };
                let kind = match p.kind {
                    PrincipalKind::App => "app",
                    PrincipalKind::User => "user",
                    PrincipalKind::Group => "group",
                };
                Some(
                    MapBuilder::default()
                        .put(kind, Node::str(&p.id))
                        .opt("tenant", p.tenant.as_ref().map(Node::str))
                        .opt("notes", notes_text.as_ref().map(Node::str))
                        .flow(),
                )
            })
            .collect();
        if !entries.is_empty() {
            by_role.push((role.to_string(), Node::Seq(entries)));
        }
    }
    (!by_role.is_empty()).then_some(Node::Map(by_role))
}

//! The canonical state of a Kusto database, shared by desired state (built from manifests) and
//! observed state (read from the cluster). Both sides are normalised into these types, so the diff
//! compares like with like: alias types, timespan spellings, mapping JSON key order and empty
//! properties, principal case, and default policy values all fold away here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    BatchingPolicy, CachingPolicy, ColumnType, Function, MappingKind, MappingProperties,
    MaterializedView, PrincipalKind, PrincipalRef, QuerySchema, RetentionPolicy, SmallMap,
    UpdatePolicy, is_guid,
};

/// Whether a live user or group listed only by an object id that no display name explains might
/// be a declared principal named by UPN or group name that matched nothing. Table roles are read
/// from the schema script, which has no display names: a person who holds no database role
/// cannot be told apart there without a directory lookup, so such a principal is never revoked.
pub fn maybe_declared(
    live: &PrincipalRef,
    role: &str,
    want: &BTreeMap<RoleKey, Option<String>>,
    have: &BTreeMap<RoleKey, Option<String>>,
    directory: &BTreeMap<String, String>,
) -> bool {
    live.kind != PrincipalKind::App
        && is_guid(&live.id)
        && !directory.contains_key(&live.id)
        && want.keys().any(|k| {
            k.role == role
                && !have.contains_key(k)
                && PrincipalRef::parse_fqn(&k.fqn)
                    .is_some_and(|d| d.kind == live.kind && !is_guid(&d.id))
        })
}

/// The ownership marker kustoplan appends to docstrings of tables it manages, so pruning only
/// ever touches objects created by this stack.
pub const OWNER_MARKER_PREFIX: &str = "[kustoplan:";

/// Every managed database of one Kusto cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KustoState {
    /// Databases by name.
    pub databases: BTreeMap<String, DatabaseState>,
}

/// One database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseState {
    /// Database name.
    pub name: String,
    /// Tables by name.
    pub tables: BTreeMap<String, TableState>,
    /// Stored functions by name: observed, every one; desired, the declared ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Function>,
    /// Materialized views by name: observed, every one; desired, the declared ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub materialized_views: BTreeMap<String, MaterializedView>,
    /// Database-level ingestion batching policy.
    pub batching: Option<BatchingPolicy>,
    /// Database-level streaming ingestion (absent and disabled are the same).
    pub streaming: bool,
    /// Database-level retention policy: observed, the one set (`None`: unlimited); desired,
    /// the declared one (`None`: not managed, left as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// Database-level caching policy, observed or declared as for `retention`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching: Option<CachingPolicy>,
    /// Principals in database roles.
    #[serde(with = "role_entries")]
    pub principals: BTreeMap<RoleKey, Option<String>>,
    /// Roles the manifests list (desired state only): their principals are the exact set.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub declared_roles: BTreeSet<String>,
    /// Names of users and groups the service lists by object id (observed state only): object
    /// id -> lower-cased UPN (from `Name (upn: x@y)`) or group display name. Declared
    /// principals named by UPN or group name are matched through it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub directory: BTreeMap<String, String>,
    /// Observed state only: what the cluster answered to the `getschema` probes of declared
    /// update policy entries that the plan sets (see
    /// [`crate::kusto::observe::schema_probes`]), keyed by the probe's text. Empty in steady
    /// state, when every declared entry is live already. Not serialized, so not part of a
    /// saved plan's fingerprint: the answers derive from the tables and functions that are,
    /// and an error answer over HTTP names its request id, which differs on every read.
    #[serde(skip)]
    pub query_schemas: BTreeMap<String, QuerySchema>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableState {
    /// Table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Docstring without the ownership marker ("" and absent are the same).
    pub docstring: String,
    /// Folder ("" and absent are the same).
    pub folder: String,
    /// The stack that owns the table, from the marker in its docstring.
    pub owner: Option<String>,
    /// Ingestion mappings by [`Mapping::key`] (kind and name: Kusto scopes names per kind).
    pub mappings: SmallMap<String, Mapping>,
    /// Table-level ingestion batching policy.
    pub batching: Option<BatchingPolicy>,
    /// The table's own streaming ingestion policy: `None` when it has none (the database's
    /// setting applies), else whether it enables streaming. Kusto lets a table policy override
    /// the database's either way, so a table that must not stream in a streaming database
    /// needs an explicit disabling policy; absence and `false` are different states.
    pub streaming: Option<bool>,
    /// Table-level retention policy: observed, the one set (`None`: the database's applies);
    /// desired, the declared one (`None`: not managed, left as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// Table-level caching policy, observed or declared as for `retention`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching: Option<CachingPolicy>,
    /// The table's update policy, entries in canonical order: observed, the entries set
    /// (`None` and an empty list both mean none is); desired, the declared ones (`None`: not
    /// managed, left as it is; an empty list: none may be set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_policies: Option<Vec<UpdatePolicy>>,
    /// Principals in table roles.
    #[serde(with = "role_entries")]
    pub principals: BTreeMap<RoleKey, Option<String>>,
    /// Roles the manifests list (desired state only): their principals are the exact set.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub declared_roles: BTreeSet<String>,
    /// Desired state only: the table's previous name (`renamed_from`), which the plan renames
    /// to this one while only the old name exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Desired state only: new column name -> previous name, for the columns declared with
    /// `renamed_from`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub renamed_columns: BTreeMap<String, String>,
}

impl TableState {
    /// Whether streaming ingestion is on for the table when its database's setting is
    /// `database`: the table's own policy wins, as on the service.
    pub fn streams(&self, database: bool) -> bool {
        self.streaming.unwrap_or(database)
    }

    /// The docstring as stored in Kusto: the user's text plus the ownership marker.
    pub fn stored_docstring(&self) -> String {
        stored_docstring(&self.docstring, self.owner.as_deref())
    }

    /// Splits a stored docstring into the user's text and the owning stack.
    pub fn split_docstring(stored: &str) -> (String, Option<String>) {
        split_docstring(stored)
    }
}

impl MaterializedView {
    /// The docstring as stored in Kusto: the user's text plus the ownership marker (views
    /// carry it like tables, so pruning only ever drops views this stack created).
    pub fn stored_docstring(&self) -> String {
        stored_docstring(&self.docstring, self.owner.as_deref())
    }
}

impl Function {
    /// The docstring as stored in Kusto: the user's text plus the ownership marker (functions
    /// carry it like tables, so pruning only ever drops functions this stack created).
    pub fn stored_docstring(&self) -> String {
        stored_docstring(&self.docstring, self.owner.as_deref())
    }
}

/// A docstring as stored: `text`, then the ownership marker of `owner` when there is one.
pub fn stored_docstring(text: &str, owner: Option<&str>) -> String {
    match owner {
        Some(owner) if text.is_empty() => format!("{OWNER_MARKER_PREFIX}{owner}]"),
        Some(owner) => format!("{text} {OWNER_MARKER_PREFIX}{owner}]"),
        None => text.to_string(),
    }
}

/// Splits a stored docstring (of a table or a function) into the user's text and the
/// owning stack.
pub fn split_docstring(stored: &str) -> (String, Option<String>) {
    let trimmed = stored.trim_end();
    if let Some(start) = trimmed.rfind(OWNER_MARKER_PREFIX)
        && trimmed.ends_with(']')
    {
        let owner = &trimmed[start + OWNER_MARKER_PREFIX.len()..trimmed.len() - 1];
        if !owner.is_empty() && !owner.contains([']', '[']) {
            return (
                trimmed[..start].trim_end().to_string(),
                Some(owner.to_string()),
            );
        }
    }
    (stored.to_string(), None)
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Canonical type.
    #[serde(with = "column_type_text")]
    pub ty: ColumnType,
}

/// An ingestion mapping in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Kind (csv, json, ...).
    #[serde(with = "mapping_kind_text")]
    pub kind: MappingKind,
    /// Name.
    pub name: String,
    /// Mapped columns in order.
    pub columns: Vec<MappingColumn>,
}

/// One mapped column: Kusto's `{"column", "datatype", "Properties": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingColumn {
    /// Target column.
    pub column: String,
    /// Declared datatype, if any.
    #[serde(with = "opt_column_type_text")]
    pub datatype: Option<ColumnType>,
    /// `Properties` with empty values dropped, keys in Kusto's spelling (`Path`, `ConstValue`,
    /// `Transform`, `Ordinal`, `Field`), values as strings.
    pub properties: MappingProperties,
}

impl Mapping {
    /// The key of this mapping in [`TableState::mappings`].
    pub fn key(&self) -> String {
        Self::key_of(self.kind, &self.name)
    }

    /// The key a mapping of this kind and name has.
    pub fn key_of(kind: MappingKind, name: &str) -> String {
        format!("{kind}:{name}")
    }

    /// The mapping JSON kustoplan writes: elements in order, keys in a fixed order.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.columns
                .iter()
                .map(|c| {
                    let mut obj = serde_json::Map::new();
                    obj.insert("column".into(), c.column.clone().into());
                    if let Some(t) = c.datatype {
                        obj.insert("datatype".into(), t.as_kql().into());
                    }
                    obj.insert(
                        "Properties".into(),
                        c.properties
                            .iter()
                            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                            .collect::<serde_json::Map<_, _>>()
                            .into(),
                    );
                    serde_json::Value::Object(obj)
                })
                .collect(),
        )
    }

    /// Reads Kusto's mapping JSON (any key case and order, properties as strings or numbers,
    /// empty datatype) into canonical form. Returns why it cannot be read.
    pub fn from_json(
        kind: MappingKind,
        name: &str,
        json: &serde_json::Value,
    ) -> Result<Mapping, String> {
        let items = json
            .as_array()
            .ok_or_else(|| "mapping JSON is not an array".to_string())?;
        let mut columns = Vec::with_capacity(items.len());
        for item in items {
            let obj = item
                .as_object()
                .ok_or_else(|| "mapping element is not an object".to_string())?;
            let get = |key: &str| {
                obj.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            };
            let column = get("column")
                .and_then(|v| v.as_str())
                .ok_or_else(|| "mapping element has no column".to_string())?
                .to_string();
            let datatype = match get("datatype").and_then(|v| v.as_str()).map(str::trim) {
                None | Some("") => None,
                Some(t) => {
                    Some(ColumnType::parse(t).ok_or_else(|| format!("unknown datatype `{t}`"))?)
                }
            };
            let mut properties = MappingProperties::new();
            if let Some(props) = get("properties").and_then(|v| v.as_object()) {
                for (k, v) in props {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    if !text.is_empty() {
                        properties.insert(canonical_property(k), text);
                    }
                }
            }
            // Legacy top-level forms (`"path": "$.x"`) mean the same as Properties.Path.
            for legacy in ["Path", "ConstValue", "Transform", "Ordinal", "Field"] {
                if let Some(v) = get(legacy) {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    if !text.is_empty() {
                        properties.insert_if_absent(legacy.to_string(), text);
                    }
                }
            }
            columns.push(MappingColumn {
                column,
                datatype,
                properties,
            });
        }
        Ok(Mapping {
            kind,
            name: name.to_string(),
            columns,
        })
    }
}

/// A mapping property key in Kusto's spelling (`path` is `Path`, `ConstantValue` is
/// `ConstValue`); keys it does not know stay as written. Shared with observe's quick mapping
/// reader, which must spell keys exactly as [`Mapping::from_json`] does.
pub(crate) fn canonical_property(key: &str) -> String {
    [
        "Path",
        "ConstValue",
        "Transform",
        "Ordinal",
        "Field",
        "ConstantValue",
    ]
    .into_iter()
    .find(|k| k.eq_ignore_ascii_case(key))
    .map_or_else(
        || key.to_string(),
        |k| {
            if k == "ConstantValue" {
                "ConstValue".into()
            } else {
                k.to_string()
            }
        },
    )
}

/// A principal in a role. The notes are the value stored alongside.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleKey {
    /// Role keyword as commands spell it: admins, users, viewers, unrestrictedviewers, ingestors,
    /// monitors.
    pub role: String,
    /// The principal's FQN in canonical (lower-case) form.
    pub fqn: String,
}

impl RoleKey {
    /// A role assignment key.
    pub fn new(role: &str, principal: &PrincipalRef) -> RoleKey {
        RoleKey {
            role: role.to_string(),
            fqn: principal.fqn(),
        }
    }

    /// Maps the `Role` column of `.show ... principals` (`Database db Admin`, `Table T Ingestor`,
    /// `Database db UnrestrictedViewer`) to the command keyword; `None` for roles kustoplan does not
    /// manage (e.g. `AllDatabasesAdmin`).
    pub fn role_keyword(show_role: &str) -> Option<&'static str> {
        let last = show_role.split_whitespace().last()?;
        Some(match last.to_ascii_lowercase().as_str() {
            "admin" | "admins" => "admins",
            "user" | "users" => "users",
            "viewer" | "viewers" => "viewers",
            "unrestrictedviewer" | "unrestrictedviewers" => "unrestrictedviewers",
            "ingestor" | "ingestors" => "ingestors",
            "monitor" | "monitors" => "monitors",
            _ => return None,
        })
    }
}

/// Role assignments as a list of `{role, fqn, notes}`: JSON object keys must be strings, and a
/// map keyed by [`RoleKey`] would fail to serialize (which once made every saved plan's
/// fingerprint hash nothing).
mod role_entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::RoleKey;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        role: String,
        fqn: String,
        notes: Option<String>,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<RoleKey, Option<String>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter().map(|(k, notes)| Entry {
            role: k.role.clone(),
            fqn: k.fqn.clone(),
            notes: notes.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<RoleKey, Option<String>>, D::Error> {
        Ok(Vec::<Entry>::deserialize(d)?
            .into_iter()
            .map(|e| {
                (
                    RoleKey {
                        role: e.role,
                        fqn: e.fqn,
                    },
                    e.notes,
                )
            })
            .collect())
    }
}

mod column_type_text {
    use super::ColumnType;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &ColumnType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_kql())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ColumnType, D::Error> {
        let text = String::deserialize(d)?;
        ColumnType::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown type {text}")))
    }
}

mod opt_column_type_text {
    use super::ColumnType;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &Option<ColumnType>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(t.as_kql()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ColumnType>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                ColumnType::parse(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown type {text}")))
            })
            .transpose()
    }
}

mod mapping_kind_text {
    use super::MappingKind;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(k: &MappingKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_kql())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MappingKind, D::Error> {
        let text = String::deserialize(d)?;
        MappingKind::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown mapping kind {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapping_json_normalises_case_order_and_empties() {
        let observed = json!([
            {"Properties": {"Path": "$.a", "Transform": ""}, "column": "A", "datatype": ""},
            {"Column": "B", "DataType": "int32", "Properties": {"ConstValue": "x"}},
            {"column": "C", "Properties": {"Ordinal": 3}}
        ]);
        let m = Mapping::from_json(MappingKind::Json, "m", &observed).unwrap();
        let declared = json!([
            {"column": "A", "Properties": {"Path": "$.a"}},
            {"column": "B", "datatype": "int", "Properties": {"ConstValue": "x"}},
            {"column": "C", "Properties": {"Ordinal": "3"}}
        ]);
        assert_eq!(
            m,
            Mapping::from_json(MappingKind::Json, "m", &declared).unwrap()
        );
        assert_eq!(m.to_json(), declared);
    }

    #[test]
    fn getschema_answers_are_not_part_of_the_fingerprinted_state() {
        let plain = DatabaseState::default();
        let mut probed = plain.clone();
        probed.query_schemas.insert(
            "T\n| getschema".into(),
            QuerySchema::Unknown("request id 1234".into()),
        );
        assert_eq!(
            serde_json::to_string(&plain).expect("serializable"),
            serde_json::to_string(&probed).expect("serializable")
        );
    }

    #[test]
    fn ownership_marker_round_trips() {
        let t = TableState {
            docstring: "Game events".into(),
            owner: Some("gameplay".into()),
            ..Default::default()
        };
        assert_eq!(t.stored_docstring(), "Game events [kustoplan:gameplay]");
        assert_eq!(
            TableState::split_docstring("Game events [kustoplan:gameplay]"),
            ("Game events".into(), Some("gameplay".into()))
        );
        assert_eq!(
            TableState::split_docstring("[kustoplan:gameplay]"),
            ("".into(), Some("gameplay".into()))
        );
        assert_eq!(
            TableState::split_docstring("plain [note]"),
            ("plain [note]".into(), None)
        );
    }

    #[test]
    fn show_principal_roles_map_to_keywords() {
        assert_eq!(RoleKey::role_keyword("Database db Admin"), Some("admins"));
        assert_eq!(
            RoleKey::role_keyword("Database game db UnrestrictedViewer"),
            Some("unrestrictedviewers")
        );
        assert_eq!(RoleKey::role_keyword("Table T Ingestor"), Some("ingestors"));
        assert_eq!(RoleKey::role_keyword("AllDatabasesAdmin"), None);
    }
}

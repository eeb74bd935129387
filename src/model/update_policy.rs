//! Update policies: a table-level policy on the TARGET table, a JSON array of entries that
//! each run a query over the rows ingested into a source table and append its output to the
//! target. Normalised here so that equivalent spellings never show as drift: the query's
//! whitespace and line endings, omitted fields and their defaults, `ManagedIdentity` case,
//! and the order of the entries (the service runs them in no defined order).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::function::normalize_body;
use super::kusto::Column;
use super::policy::field;

/// One entry of a table's update policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UpdatePolicy {
    /// `Source`: the table whose ingestions trigger the query.
    pub source: String,
    /// `Query`, whitespace-normalised (see [`normalize_body`]): a query or a function call.
    pub query: String,
    /// `IsEnabled` (default `true` in manifests; the service stores it explicitly).
    pub enabled: bool,
    /// `IsTransactional`: a failing query fails the source's ingestion too (default `false`).
    pub transactional: bool,
    /// `PropagateIngestionProperties`: extent tags and creation time carry over (default
    /// `false`).
    pub propagate_ingestion_properties: bool,
    /// `ManagedIdentity`: `system` or an object id (lower case), when the query needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity: Option<String>,
    /// `SourceIsWildCard`: `Source` is a pattern. Read from live policies only (manifests
    /// name one source table), so an entry kustoplan does not model still reads back exactly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_is_wildcard: bool,
}

impl UpdatePolicy {
    /// A normalised entry: the query's whitespace folded, the identity in canonical case.
    pub fn new(
        source: &str,
        query: &str,
        enabled: bool,
        transactional: bool,
        propagate_ingestion_properties: bool,
        managed_identity: Option<&str>,
    ) -> UpdatePolicy {
        UpdatePolicy {
            source: source.to_string(),
            query: normalize_body(query),
            enabled,
            transactional,
            propagate_ingestion_properties,
            managed_identity: normalize_identity(managed_identity),
            source_is_wildcard: false,
        }
    }

    /// The entry as the service's JSON, keys in the documented order.
    pub fn to_json(&self) -> Value {
        let mut obj = serde_json::Map::new();
        obj.insert("IsEnabled".into(), self.enabled.into());
        obj.insert("Source".into(), self.source.clone().into());
        if self.source_is_wildcard {
            obj.insert("SourceIsWildCard".into(), true.into());
        }
        obj.insert("Query".into(), self.query.clone().into());
        obj.insert("IsTransactional".into(), self.transactional.into());
        obj.insert(
            "PropagateIngestionProperties".into(),
            self.propagate_ingestion_properties.into(),
        );
        if let Some(identity) = &self.managed_identity {
            obj.insert("ManagedIdentity".into(), identity.clone().into());
        }
        Value::Object(obj)
    }

    /// Reads one entry of the service's JSON (any key case; booleans as JSON or as text;
    /// system-populated fields such as `OwnerPrincipalDetails` ignored). `None` when it is
    /// not an object with a `Source` and a `Query`.
    pub fn from_json(entry: &Value) -> Option<UpdatePolicy> {
        let map = entry.as_object()?;
        let text = |key: &str| field(map, key).and_then(Value::as_str);
        let flag = |key: &str, default: bool| match field(map, key) {
            None | Some(Value::Null) => Some(default),
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => s.trim().parse::<bool>().ok().or_else(|| {
                ["true", "false"]
                    .iter()
                    .find(|b| b.eq_ignore_ascii_case(s.trim()))
                    .map(|b| *b == "true")
            }),
            Some(_) => None,
        };
        let mut policy = UpdatePolicy::new(
            text("Source")?,
            text("Query")?,
            flag("IsEnabled", true)?,
            flag("IsTransactional", false)?,
            flag("PropagateIngestionProperties", false)?,
            text("ManagedIdentity"),
        );
        policy.source_is_wildcard = flag("SourceIsWildCard", false)?;
        Some(policy)
    }
}

/// What the cluster said about an update policy query's output (`<query> | getschema`), as
/// observed for the plan's schema check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuerySchema {
    /// The query's output columns, in order.
    Columns(Vec<Column>),
    /// The cluster could not type the query: its answer, worded for the plan.
    Unknown(String),
}

/// The entries of a whole policy in canonical order: `null` (no policy) and `[]` are both
/// empty. `None` when the JSON is not an array of readable entries.
pub fn update_policies_from_json(policy: &Value) -> Option<Vec<UpdatePolicy>> {
    let mut entries = match policy {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(UpdatePolicy::from_json)
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    entries.sort();
    Some(entries)
}

/// The JSON array of a whole policy, as `.alter table T policy update` takes it.
pub fn update_policies_json(entries: &[UpdatePolicy]) -> Value {
    Value::Array(entries.iter().map(UpdatePolicy::to_json).collect())
}

/// Whether a query names `function` as a whole word: a call, or a reference without
/// parentheses (Kusto allows those for functions without parameters). What a plan uses to
/// tell which update policies a function change can break.
pub fn query_calls(query: &str, function: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    !function.is_empty()
        && query.match_indices(function).any(|(i, _)| {
            let before = query[..i].chars().next_back();
            let after = query[i + function.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
}

/// `system` in lower case (the reserved word), object ids in lower case; empty is none.
fn normalize_identity(identity: Option<&str>) -> Option<String> {
    let identity = identity.map(str::trim).filter(|i| !i.is_empty())?;
    Some(identity.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equivalent_spellings_read_the_same() {
        let declared = UpdatePolicy::new(
            "RawEvents",
            "RawEvents\n| extend  Parsed = parse_json(Payload)\n",
            true,
            true,
            false,
            Some("System"),
        );
        let live = update_policies_from_json(&json!([{
            "isEnabled": "True",
            "Source": "RawEvents",
            "Query": "RawEvents\r\n   | extend Parsed = parse_json(Payload)",
            "IsTransactional": true,
            "ManagedIdentity": "system",
            "OwnerPrincipalDetails": {"x": 1}
        }]))
        .expect("readable");
        assert_eq!(live, vec![declared.clone()]);
        assert_eq!(
            UpdatePolicy::from_json(&declared.to_json()).as_ref(),
            Some(&declared)
        );
        assert_eq!(update_policies_from_json(&Value::Null), Some(Vec::new()));
        assert_eq!(update_policies_from_json(&json!([])), Some(Vec::new()));
    }

    #[test]
    fn unreadable_policies_are_refused() {
        assert_eq!(update_policies_from_json(&json!({"Source": "A"})), None);
        assert_eq!(update_policies_from_json(&json!([{"Source": "A"}])), None);
        assert_eq!(
            update_policies_from_json(&json!([{"Source": "A", "Query": "A", "IsEnabled": 3}])),
            None
        );
    }

    #[test]
    fn entries_are_compared_in_canonical_order() {
        let a = json!({"Source": "A", "Query": "A"});
        let b = json!({"Source": "B", "Query": "B", "IsEnabled": false});
        assert_eq!(
            update_policies_from_json(&json!([a, b])),
            update_policies_from_json(&json!([b, a]))
        );
        let read = update_policies_from_json(&json!([a])).expect("readable");
        assert_eq!(
            (
                read[0].enabled,
                read[0].transactional,
                read[0].managed_identity.as_deref()
            ),
            (true, false, None)
        );
    }
}

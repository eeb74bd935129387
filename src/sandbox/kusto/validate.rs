//! The semantic checks Kusto applies after parsing: entity names, policy JSON and ranges,
//! mapping JSON and principal FQNs. Each returns the normalised value the service stores.

use serde_json::{Map, Value};

use super::error::KustoError;
use super::state::{BatchingPolicy, StreamingPolicy, Table};
use crate::model::timespan::TICKS_PER_SECOND;
use crate::model::{
    CachingPolicy, ColumnType, MappingKind, RetentionPolicy, Timespan, UpdatePolicy,
};

/// Longest entity name Kusto accepts.
pub const MAX_NAME_LEN: usize = 1024;

/// Most columns a table may have ("The maximum limit of columns per table is 10,000", Kusto's
/// columns reference).
pub const MAX_COLUMNS: usize = 10_000;

/// Fails when a table would end up with more than [`MAX_COLUMNS`] columns.
pub fn column_count(table: &str, count: usize) -> Result<(), KustoError> {
    if count > MAX_COLUMNS {
        return Err(KustoError::bad_request(format!(
            "Table '{table}' would have {count} columns; a table has at most {MAX_COLUMNS} columns."
        )));
    }
    Ok(())
}

/// The documented batching defaults: 5 minutes, 500 items, 1024 MB.
pub const BATCHING_DEFAULTS: BatchingPolicy = BatchingPolicy {
    max_batching_ticks: 300 * TICKS_PER_SECOND,
    max_items: 500,
    max_raw_size_mb: 1024,
};

/// Checks an entity name: letters, digits, `_`, space, `.`, `-`, at most 1024 characters,
/// not empty or blank.
pub fn entity_name(kind: &str, name: &str) -> Result<(), KustoError> {
    let bad = |why: &str| {
        KustoError::bad_request(format!(
            "The name '{name}' is not a valid {kind} name: {why}."
        ))
    };
    if name.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(bad("it is longer than 1024 characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '-')))
    {
        return Err(bad(&format!("character '{c}' is not allowed")));
    }
    Ok(())
}

fn policy_object(json: &str) -> Result<Map<String, Value>, KustoError> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(KustoError::bad_request("The policy must be a JSON object.")),
        Err(e) => Err(KustoError::bad_request(format!(
            "The policy is not valid JSON: {e}."
        ))),
    }
}

/// Looks a key up case-insensitively (Kusto deserialises policies case-insensitively);
/// JSON `null` counts as absent.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn ranged(
    map: &Map<String, Value>,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, KustoError> {
    let Some(v) = field(map, key) else {
        return Ok(None);
    };
    match v.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(KustoError::bad_request(format!(
            "Invalid IngestionBatching policy: {key} must be an integer between {min} and {max}, got {v}."
        ))),
    }
}

/// Applies a batching policy JSON onto `base` (defaults for `.alter`, the current policy for
/// `.alter-merge`) and enforces the documented limits.
pub fn batching_policy(json: &str, base: BatchingPolicy) -> Result<BatchingPolicy, KustoError> {
    let map = policy_object(json)?;
    let mut policy = base;
    if let Some(v) = field(&map, "MaximumBatchingTimeSpan") {
        let ticks = v.as_str().and_then(Timespan::parse_ticks).ok_or_else(|| {
            KustoError::bad_request(format!(
                "Invalid IngestionBatching policy: MaximumBatchingTimeSpan must be a timespan such as \"00:05:00\", got {v}."
            ))
        })?;
        if !(10 * TICKS_PER_SECOND..=1800 * TICKS_PER_SECOND).contains(&ticks) {
            return Err(KustoError::bad_request(format!(
                "Invalid IngestionBatching policy: MaximumBatchingTimeSpan must be between 00:00:10 and 00:30:00, got {}.",
                Timespan::format_ticks(ticks)
            )));
        }
        policy.max_batching_ticks = ticks;
    }
    if let Some(n) = ranged(&map, "MaximumNumberOfItems", 1, 25_000)? {
        policy.max_items = n;
    }
    if let Some(n) = ranged(&map, "MaximumRawDataSizeMB", 100, 4096)? {
        policy.max_raw_size_mb = n;
    }
    Ok(policy)
}

/// The policy JSON text the service returns for a batching policy. Written directly (the
/// timespan is digits, `.` and `:`, nothing to escape): a schema script prints one per table.
pub fn batching_json(p: &BatchingPolicy) -> String {
    format!(
        r#"{{"MaximumBatchingTimeSpan":"{}","MaximumNumberOfItems":{},"MaximumRawDataSizeMB":{}}}"#,
        Timespan::format_ticks(p.max_batching_ticks),
        p.max_items,
        p.max_raw_size_mb
    )
}

/// Applies a retention policy JSON onto `base` (`.alter-merge` keeps the fields it omits;
/// `.alter` passes `None` and omitted fields take the documented defaults).
pub fn retention_policy(
    json: &str,
    base: Option<RetentionPolicy>,
) -> Result<RetentionPolicy, KustoError> {
    let mut map = policy_object(json)?;
    if let Some(base) = base
        && let Value::Object(current) = base.to_json()
    {
        for (k, v) in current {
            if field(&map, &k).is_none() {
                map.insert(k, v);
            }
        }
    }
    let policy = RetentionPolicy::from_json(&Value::Object(map)).ok_or_else(|| {
        KustoError::bad_request(
            "Invalid Retention policy: SoftDeletePeriod must be a timespan such as \"365.00:00:00\" and Recoverability 'Enabled' or 'Disabled'.",
        )
    })?;
    if policy.soft_delete > RetentionPolicy::UNLIMITED {
        return Err(KustoError::bad_request(format!(
            "Invalid Retention policy: SoftDeletePeriod must be at most 365000.00:00:00, got {}.",
            policy.soft_delete.to_kusto()
        )));
    }
    Ok(policy)
}

/// Reads an update policy: a JSON array of entries, each with a `Source` and a `Query`
/// (booleans default as the service documents). The entries keep their order.
pub fn update_policy(json: &str) -> Result<Vec<UpdatePolicy>, KustoError> {
    let bad = |why: String| KustoError::bad_request(format!("Invalid Update policy: {why}"));
    let value: Value =
        serde_json::from_str(json).map_err(|e| bad(format!("the policy is not JSON ({e})")))?;
    let items = value
        .as_array()
        .ok_or_else(|| bad("expected a JSON array of policy objects".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            UpdatePolicy::from_json(item)
                .filter(|p| !p.source.trim().is_empty() && !p.query.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "entry {i} needs a non-empty 'Source' and 'Query', and boolean 'IsEnabled', 'IsTransactional' and 'PropagateIngestionProperties'"
                    ))
                })
        })
        .collect()
}

/// Reads a caching policy JSON (`DataHotSpan`, `IndexHotSpan`, `HotWindows`).
pub fn caching_policy(json: &str) -> Result<CachingPolicy, KustoError> {
    let map = policy_object(json)?;
    let policy = CachingPolicy::from_json(&Value::Object(map)).ok_or_else(|| {
        KustoError::bad_request(
            "Invalid Caching policy: DataHotSpan must be a timespan and every hot window needs MinValue and MaxValue datetimes.",
        )
    })?;
    if let Some(w) = policy.hot_windows.iter().find(|w| !w.is_ordered()) {
        return Err(KustoError::bad_request(format!(
            "Invalid Caching policy: hot window {} .. {} ends before it starts.",
            w.from, w.to
        )));
    }
    Ok(policy)
}

/// Applies a streaming policy JSON onto `base` (`None` for `.alter`: `IsEnabled` required).
pub fn streaming_policy(
    json: &str,
    base: Option<StreamingPolicy>,
) -> Result<StreamingPolicy, KustoError> {
    let map = policy_object(json)?;
    let invalid =
        |what: &str| KustoError::bad_request(format!("Invalid StreamingIngestion policy: {what}."));
    let is_enabled = match (field(&map, "IsEnabled"), base) {
        (Some(Value::Bool(b)), _) => *b,
        (Some(v), _) => {
            return Err(invalid(&format!(
                "IsEnabled must be true or false, got {v}"
            )));
        }
        (None, Some(b)) => b.is_enabled,
        (None, None) => return Err(invalid("IsEnabled is required")),
    };
    let hint_allocated_rate = match field(&map, "HintAllocatedRate") {
        Some(v) => match v.as_f64() {
            Some(rate) if rate > 0.0 => Some(rate),
            _ => {
                return Err(invalid(&format!(
                    "HintAllocatedRate must be a positive number, got {v}"
                )));
            }
        },
        None => base.and_then(|b| b.hint_allocated_rate),
    };
    Ok(StreamingPolicy {
        is_enabled,
        hint_allocated_rate,
    })
}

/// The policy JSON text the service returns for a streaming policy.
pub fn streaming_json(p: &StreamingPolicy) -> String {
    serde_json::json!({
        "IsEnabled": p.is_enabled,
        "HintAllocatedRate": p.hint_allocated_rate,
    })
    .to_string()
}

/// Validates a mapping and returns its canonical text: each element's keys in ordinal order,
/// `column`/`datatype`/`Properties` spelled as the service spells them, and `datatype`
/// defaulted to `""` (the shape shown by the create-or-alter mapping docs).
/// For table mappings every column must exist in `table` or carry a datatype.
pub fn mapping(
    name: &str,
    kind: MappingKind,
    json: &str,
    table: Option<&Table>,
) -> Result<String, KustoError> {
    let invalid = |why: String| {
        KustoError::bad_request(format!(
            "Ingestion mapping '{name}' of kind '{}' is invalid: {why}.",
            kind.display_name()
        ))
    };
    let elements = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(a)) if !a.is_empty() => a,
        Ok(Value::Array(_)) => return Err(invalid("the mapping has no elements".into())),
        Ok(_) => return Err(invalid("the mapping must be a JSON array".into())),
        Err(e) => return Err(invalid(format!("the mapping is not valid JSON ({e})"))),
    };
    let mut out = Vec::with_capacity(elements.len());
    for (i, element) in elements.into_iter().enumerate() {
        let Value::Object(obj) = element else {
            return Err(invalid(format!("element {i} is not a JSON object")));
        };
        let mut canonical = Map::new();
        let mut entries: Vec<(String, Value)> = obj
            .into_iter()
            .map(|(k, v)| {
                let key = match k.to_ascii_lowercase().as_str() {
                    "column" => "column".to_string(),
                    "datatype" => "datatype".to_string(),
                    "properties" => "Properties".to_string(),
                    _ => k,
                };
                (key, v)
            })
            .collect();
        if !entries.iter().any(|(k, _)| k == "datatype") {
            entries.push(("datatype".into(), Value::String(String::new())));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in entries {
            canonical.insert(k, v);
        }
        let column = match canonical.get("column") {
            Some(Value::String(c)) if !c.trim().is_empty() => c.clone(),
            _ => return Err(invalid(format!("element {i} has no \"column\""))),
        };
        entity_name("column", &column)?;
        let datatype = match canonical.get("datatype") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Null) => String::new(),
            Some(other) => {
                return Err(invalid(format!(
                    "element {i} has a non-string datatype {other}"
                )));
            }
            None => String::new(),
        };
        if !datatype.is_empty() && ColumnType::from_kql(&datatype).is_none() {
            return Err(invalid(format!(
                "column '{column}' has unknown datatype '{datatype}'"
            )));
        }
        if let Some(props) = canonical.get("Properties")
            && !props.is_object()
        {
            return Err(invalid(format!(
                "element {i} has \"Properties\" that is not an object"
            )));
        }
        if let Some(table) = table
            && datatype.is_empty()
            && table.column(&column).is_none()
        {
            return Err(invalid(format!(
                "column '{column}' does not exist in table '{}' and has no datatype",
                table.name
            )));
        }
        out.push(Value::Object(canonical));
    }
    Ok(Value::Array(out).to_string())
}

/// A principal FQN split into its kind keyword and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalName {
    /// `aaduser`, `aadapp`, `aadgroup` or `msauser`.
    pub kind: &'static str,
    /// The identity after `=` (including any `;tenant`).
    pub identity: String,
}

impl PrincipalName {
    /// Parses and normalises an FQN (prefix lowercased, whitespace trimmed).
    pub fn parse(fqn: &str) -> Result<Self, KustoError> {
        let bad = || {
            KustoError::bad_request(format!(
                "The principal '{fqn}' is not in a supported format (aaduser=, aadapp=, aadgroup= or msauser=)."
            ))
        };
        let (prefix, identity) = fqn.trim().split_once('=').ok_or_else(bad)?;
        let kind = match prefix.trim().to_ascii_lowercase().as_str() {
            "aaduser" => "aaduser",
            "aadapp" => "aadapp",
            "aadgroup" => "aadgroup",
            "msauser" => "msauser",
            _ => return Err(bad()),
        };
        let identity = identity.trim();
        if identity.is_empty() || identity.starts_with(';') {
            return Err(bad());
        }
        Ok(PrincipalName {
            kind,
            identity: identity.to_string(),
        })
    }

    /// The normalised FQN.
    pub fn fqn(&self) -> String {
        format!("{}={}", self.kind, self.identity)
    }

    /// `PrincipalType` column value.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            "aaduser" => "AAD User",
            "aadapp" => "AAD Application",
            "aadgroup" => "AAD Group",
            _ => "MSA User",
        }
    }

    /// The identity without the tenant: the object id of a resolved user or group, the app id
    /// of an app.
    pub fn object(&self) -> &str {
        self.identity.split(';').next().unwrap_or(&self.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kusto::state::Column;

    #[test]
    fn names() {
        for good in ["GamePlay", "My Table", "a.b-c_1", "Ünïcode"] {
            assert_eq!(entity_name("table", good), Ok(()), "{good}");
        }
        assert_eq!(
            entity_name("table", "a/b").map_err(|e| e.detail),
            Err(
                "The name 'a/b' is not a valid table name: character '/' is not allowed."
                    .to_string()
            )
        );
        assert!(entity_name("table", " ").is_err());
        assert!(entity_name("table", &"x".repeat(1024)).is_ok());
        assert!(entity_name("table", &"x".repeat(1025)).is_err());
    }

    #[test]
    fn batching_alter_resets_and_merge_keeps() {
        let custom = BatchingPolicy {
            max_batching_ticks: 30 * TICKS_PER_SECOND,
            max_items: 20,
            max_raw_size_mb: 300,
        };
        let reset =
            batching_policy(r#"{"MaximumNumberOfItems": 7}"#, BATCHING_DEFAULTS).expect("valid");
        assert_eq!(
            batching_json(&reset),
            r#"{"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":7,"MaximumRawDataSizeMB":1024}"#
        );
        let merged = batching_policy(r#"{"maximumnumberofitems": 7}"#, custom).expect("valid");
        assert_eq!(
            batching_json(&merged),
            r#"{"MaximumBatchingTimeSpan":"00:00:30","MaximumNumberOfItems":7,"MaximumRawDataSizeMB":300}"#
        );
    }

    #[test]
    fn batching_json_is_the_json_of_the_policy() {
        for (ticks, items, size) in [
            (0, 1, 100),
            (TICKS_PER_SECOND * 86_400 * 3 + 15_000_000, 25_000, 4096),
            (1, 500, 1024),
        ] {
            let policy = BatchingPolicy {
                max_batching_ticks: ticks,
                max_items: items,
                max_raw_size_mb: size,
            };
            let json: serde_json::Value =
                serde_json::from_str(&batching_json(&policy)).expect("JSON");
            assert_eq!(
                json,
                serde_json::json!({
                    "MaximumBatchingTimeSpan": Timespan::format_ticks(ticks),
                    "MaximumNumberOfItems": items,
                    "MaximumRawDataSizeMB": size,
                })
            );
        }
    }

    #[test]
    fn batching_limits() {
        let err = |json: &str| {
            batching_policy(json, BATCHING_DEFAULTS)
                .expect_err(json)
                .detail
        };
        assert_eq!(
            err(r#"{"MaximumBatchingTimeSpan":"00:00:09"}"#),
            "Invalid IngestionBatching policy: MaximumBatchingTimeSpan must be between 00:00:10 and 00:30:00, got 00:00:09."
        );
        assert!(
            batching_policy(
                r#"{"MaximumBatchingTimeSpan":"00:30:00"}"#,
                BATCHING_DEFAULTS
            )
            .is_ok()
        );
        assert!(err(r#"{"MaximumBatchingTimeSpan":"00:30:01"}"#).contains("got 00:30:01"));
        assert_eq!(
            err(r#"{"MaximumNumberOfItems":25001}"#),
            "Invalid IngestionBatching policy: MaximumNumberOfItems must be an integer between 1 and 25000, got 25001."
        );
        assert!(err(r#"{"MaximumNumberOfItems":0}"#).contains("got 0"));
        assert!(err(r#"{"MaximumRawDataSizeMB":99}"#).contains("between 100 and 4096"));
        assert!(err(r#"{"MaximumRawDataSizeMB":4097}"#).contains("got 4097"));
        assert!(err(r#"{"MaximumBatchingTimeSpan":"10s"}"#).contains("must be a timespan"));
        assert_eq!(err("[1]"), "The policy must be a JSON object.");
        assert!(err("{").starts_with("The policy is not valid JSON"));
    }

    #[test]
    fn streaming() {
        let p = streaming_policy(r#"{"IsEnabled": true, "HintAllocatedRate": 2.1}"#, None)
            .expect("valid");
        assert_eq!(
            streaming_json(&p),
            r#"{"IsEnabled":true,"HintAllocatedRate":2.1}"#
        );
        let merged = streaming_policy(r#"{"IsEnabled": false}"#, Some(p)).expect("valid");
        assert_eq!(
            streaming_json(&merged),
            r#"{"IsEnabled":false,"HintAllocatedRate":2.1}"#
        );
        assert!(streaming_policy("{}", None).is_err());
        assert!(streaming_policy(r#"{"IsEnabled":"yes"}"#, None).is_err());
    }

    fn table() -> Table {
        Table::new(
            "T".into(),
            vec![Column {
                name: "a".into(),
                ty: ColumnType::Int,
                data_nulled: false,
            }],
        )
    }

    #[test]
    fn mapping_canonical_form() {
        let text = mapping(
            "m",
            MappingKind::Json,
            r#"[{"Column":"a","Properties":{"Path":"$.a"}},{"column":"b","DataType":"long","Properties":{"Path":"$.b"}}]"#,
            Some(&table()),
        )
        .expect("valid");
        assert_eq!(
            text,
            r#"[{"Properties":{"Path":"$.a"},"column":"a","datatype":""},{"Properties":{"Path":"$.b"},"column":"b","datatype":"long"}]"#
        );
    }

    #[test]
    fn mapping_errors() {
        let err = |json: &str| {
            mapping("m", MappingKind::Json, json, Some(&table()))
                .expect_err(json)
                .detail
        };
        assert_eq!(
            err(r#"[{"column":"missing","Properties":{"Path":"$.x"}}]"#),
            "Ingestion mapping 'm' of kind 'JSON' is invalid: column 'missing' does not exist in table 'T' and has no datatype."
        );
        assert!(err("{}").ends_with("the mapping must be a JSON array."));
        assert!(err("[]").ends_with("the mapping has no elements."));
        assert!(err("[1]").ends_with("element 0 is not a JSON object."));
        assert!(err(r#"[{"Properties":{}}]"#).ends_with("element 0 has no \"column\"."));
        assert!(
            err(r#"[{"column":"x","datatype":"integer"}]"#).contains("unknown datatype 'integer'")
        );
        assert!(err("[{").contains("not valid JSON"));
        // Database-level mappings have no table to check against.
        assert!(
            mapping(
                "m",
                MappingKind::Csv,
                r#"[{"column":"zz","Properties":{"Ordinal":"0"}}]"#,
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn principals() {
        let p = PrincipalName::parse(" AADApp=1b2c;contoso.com ").expect("valid");
        assert_eq!(p.fqn(), "aadapp=1b2c;contoso.com");
        assert_eq!(p.type_name(), "AAD Application");
        assert_eq!(p.object(), "1b2c");
        for bad in ["bob@contoso.com", "aaduser=", "robot=x", "aadapp=;tenant"] {
            assert!(PrincipalName::parse(bad).is_err(), "{bad}");
        }
    }
}

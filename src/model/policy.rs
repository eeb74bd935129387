use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Timespan;

/// An ingestion batching policy in canonical form: what a manifest declares and what
/// `.show ... policy ingestionbatching` reports are both folded into this, so the diff
/// compares values, not JSON spellings (`"00:00:10"` vs `"00:00:10.0000000"`, key case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BatchingPolicy {
    /// `MaximumBatchingTimeSpan`: seal a batch after this long.
    #[serde(with = "super::timespan::kusto_text")]
    pub max_time: Timespan,
    /// `MaximumNumberOfItems`: seal a batch after this many blobs or files.
    pub max_items: u64,
    /// `MaximumRawDataSizeMB`: seal a batch after this much uncompressed data.
    pub max_raw_size_mb: u64,
}

impl BatchingPolicy {
    /// The service defaults (5 minutes, 500 items, 1,024 MB): what a table or database has
    /// when no policy is set, and what `.alter ... policy` resets omitted fields to.
    pub const DEFAULTS: BatchingPolicy = BatchingPolicy {
        max_time: Timespan::from_secs(300),
        max_items: 500,
        max_raw_size_mb: 1024,
    };

    /// The policy JSON Kusto takes, with every field written so nothing falls back to a
    /// default silently: `{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":500,
    /// "MaximumRawDataSizeMB":1024}`.
    pub fn to_json(&self) -> Value {
        json!({
            "MaximumBatchingTimeSpan": self.max_time.to_kusto(),
            "MaximumNumberOfItems": self.max_items,
            "MaximumRawDataSizeMB": self.max_raw_size_mb,
        })
    }

    /// Reads a policy as the service reports it. Keys match case-insensitively (Kusto
    /// deserialises policies so) and a missing or `null` field means the default, as it does
    /// for the service. Returns `None` for anything that is not a well-formed policy object.
    pub fn from_json(policy: &Value) -> Option<BatchingPolicy> {
        let map = policy.as_object()?;
        let field = |key: &str| field(map, key);
        let d = BatchingPolicy::DEFAULTS;
        let max_time = match field("MaximumBatchingTimeSpan") {
            Some(v) => Timespan::parse(v.as_str()?)?,
            None => d.max_time,
        };
        let number = |key: &str, default: u64| match field(key) {
            Some(v) => v.as_u64(),
            None => Some(default),
        };
        Some(BatchingPolicy {
            max_time,
            max_items: number("MaximumNumberOfItems", d.max_items)?,
            max_raw_size_mb: number("MaximumRawDataSizeMB", d.max_raw_size_mb)?,
        })
    }
}

/// A field of a policy object as the service reads it: the key matched case-insensitively
/// (Kusto deserialises policies so), `null` counted as absent (the default applies).
pub(crate) fn field<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_service_spellings() {
        let p = BatchingPolicy {
            max_time: Timespan::from_secs(10),
            max_items: 100,
            max_raw_size_mb: 256,
        };
        assert_eq!(
            p.to_json().to_string(),
            r#"{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":100,"MaximumRawDataSizeMB":256}"#
        );
        assert_eq!(BatchingPolicy::from_json(&p.to_json()), Some(p));
        let reported = json!({
            "maximumBatchingTimeSpan": "00:00:10.0000000",
            "MaximumNumberOfItems": 100,
            "MaximumRawDataSizeMB": 256,
            "MaximumBatchingTimeSpanForBatchSealing": null
        });
        assert_eq!(BatchingPolicy::from_json(&reported), Some(p));
    }

    #[test]
    fn missing_fields_are_defaults_and_junk_is_rejected() {
        assert_eq!(
            BatchingPolicy::from_json(&json!({})),
            Some(BatchingPolicy::DEFAULTS)
        );
        assert_eq!(BatchingPolicy::from_json(&json!(null)), None);
        assert_eq!(
            BatchingPolicy::from_json(&json!({"MaximumNumberOfItems": "many"})),
            None
        );
        assert_eq!(
            BatchingPolicy::from_json(&json!({"MaximumBatchingTimeSpan": 10})),
            None
        );
    }
}

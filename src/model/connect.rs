//! Canonical Kafka Connect and Kafka state: Kusto sink connectors and topics.
//!
//! A connector is its config map plus its desired run state. Comparison is done here, key by key,
//! with the normalisations that keep plans free of false drift: `kusto.tables.topics.mapping` is
//! compared route by route (order, quoting and spacing do not matter), `topics` as a set, keys
//! Connect adds itself are ignored, and secret values are compared without ever being printed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The Kusto sink connector class.
pub const KUSTO_SINK_CLASS: &str =
    "com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector";
/// The config key that marks a connector as managed by a stack (its value is the stack name).
pub const OWNER_KEY: &str = "kustoplan.stack";
/// Keys Connect adds to stored configs itself; they are not drift.
pub const CONNECT_OWN_KEYS: [&str; 1] = ["name"];
/// What secret values are shown as.
pub const MASK: &str = "****";

/// Desired or observed run state of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunState {
    /// Tasks run.
    Running,
    /// Tasks are paused but stay assigned.
    Paused,
    /// Tasks are shut down.
    Stopped,
}

/// One connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    /// Connector name.
    pub name: String,
    /// Config as Connect stores it (string values).
    pub config: BTreeMap<String, String>,
    /// Run state.
    pub state: RunState,
    /// The name a declared connector had before (desired state only): a live connector of
    /// that name is moved, with its offsets, rather than left behind and re-ingested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

impl Connector {
    /// The stack that owns the connector, from its marker key.
    pub fn owner(&self) -> Option<&str> {
        self.config.get(OWNER_KEY).map(String::as_str)
    }
}

/// All connectors of one Connect cluster, by name.
pub type ConnectCluster = BTreeMap<String, Connector>;

/// A topic -> table route as the sink's `kusto.tables.topics.mapping` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Route {
    /// Source topic.
    pub topic: String,
    /// Target database.
    pub db: String,
    /// Target table.
    pub table: String,
    /// Data format, lower-case.
    pub format: String,
    /// Mapping name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// Streaming ingestion.
    #[serde(default)]
    pub streaming: bool,
}

/// Parses `kusto.tables.topics.mapping` as the sink does: a JSON array, where single-quoted
/// strings are accepted too. Returns the routes in canonical form (sorted).
pub fn parse_routes(text: &str) -> Result<Vec<Route>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&single_to_double_quotes(text)))
        .map_err(|e| format!("not a JSON array of routes: {e}"))?;
    let items = value.as_array().ok_or("not a JSON array of routes")?;
    let mut routes = Vec::with_capacity(items.len());
    for item in items {
        let text_of = |key: &str| {
            item.get(key).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            })
        };
        let required = |key: &str| {
            text_of(key)
                .filter(|s| !s.is_empty())
                .ok_or(format!("a route has no `{key}`"))
        };
        routes.push(Route {
            topic: required("topic")?,
            db: required("db")?,
            table: required("table")?,
            format: required("format")?.to_lowercase(),
            mapping: text_of("mapping").filter(|m| !m.is_empty()),
            streaming: item.get("streaming").is_some_and(|v| {
                v.as_bool()
                    .unwrap_or_else(|| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")))
            }),
        });
    }
    routes.sort();
    Ok(routes)
}

/// Renders routes the way kustoplan writes them: compact JSON, in the given order, with the
/// keys in the sink's order. Built as a JSON value, so no serialization step can fail.
pub fn render_routes(routes: &[Route]) -> String {
    use serde_json::Value;
    let text = |s: &str| Value::String(s.to_string());
    let array: Vec<Value> = routes
        .iter()
        .map(|r| {
            let mut route = serde_json::Map::new();
            route.insert("topic".into(), text(&r.topic));
            route.insert("db".into(), text(&r.db));
            route.insert("table".into(), text(&r.table));
            route.insert("format".into(), text(&r.format));
            if let Some(mapping) = &r.mapping {
                route.insert("mapping".into(), text(mapping));
            }
            route.insert("streaming".into(), Value::Bool(r.streaming));
            Value::Object(route)
        })
        .collect();
    Value::Array(array).to_string()
}

fn single_to_double_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_double = false;
    let mut prev_backslash = false;
    for c in text.chars() {
        match c {
            '"' if !prev_backslash => {
                in_double = !in_double;
                out.push(c);
            }
            '\'' if !in_double && !prev_backslash => out.push('"'),
            _ => out.push(c),
        }
        prev_backslash = c == '\\' && !prev_backslash;
    }
    out
}

/// Credential keys of the Kusto sink and of Kafka clients that are secret whatever their
/// name looks like.
const KNOWN_SECRET_KEYS: &[&str] = &[
    "aad.auth.appkey",
    "aad.auth.accesstoken",
    "sasl.jaas.config",
    "basic.auth.user.info",
];

/// Name fragments that make a key secret.
const SECRET_FRAGMENTS: &[&str] = &["password", "secret", "token", "credential", "jaas.config"];

/// Suffixes of keys that are never secrets even when a fragment matches (e.g.
/// `sasl.oauthbearer.token.endpoint.url`, `ssl.keystore.type`).
const NEVER_SECRET_SUFFIXES: &[&str] = &[
    ".url",
    ".location",
    ".type",
    ".class",
    ".ms",
    ".enable",
    ".mechanism",
];

/// Whether a config key holds a credential, so its value is masked wherever it is shown (plans,
/// logs, errors): the keys the manifest requires to be references
/// ([`crate::manifest::validate::is_secret_key`]), the known credential keys, anything whose name
/// contains password/secret/token/credential/jaas.config, and anything ending in `key`
/// (`aad.auth.appkey`, `ssl.key`) or `user.info`. Masking errs on the side of hiding. This is the
/// one rule: the Connect client masks live configs with it and plans mask diffs with it.
pub fn is_secret_key(key: &str) -> bool {
    crate::manifest::validate::is_secret_key(key) || looks_secret(key)
}

fn looks_secret(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    if KNOWN_SECRET_KEYS
        .iter()
        .any(|known| k == *known || k.ends_with(&format!(".{known}")))
    {
        return true;
    }
    if NEVER_SECRET_SUFFIXES.iter().any(|s| k.ends_with(s)) {
        return false;
    }
    SECRET_FRAGMENTS.iter().any(|f| k.contains(f)) || k.ends_with("key") || k.ends_with("user.info")
}

/// Whether a value is exactly one config-provider reference such as `${file:/s.properties:key}`
/// or `${env:APPKEY}`: safe to show, it names a secret without holding it. The same rule the
/// manifest uses to accept a credential.
pub fn is_placeholder(value: &str) -> bool {
    crate::manifest::validate::is_placeholder(value)
}

/// The live config as a plan should compare it: a literal secret that equals what the declared
/// `${env:NAME}` reference resolves to in kustoplan's own environment (`env`) is taken as that
/// reference. This is how an imported connector, whose literal secret `import` replaced by a
/// reference, plans without changes once the variable holds the current value; without it the
/// plan shows the switch to the reference (masked). Values are compared, never returned.
pub fn adopt_resolved_secrets(
    desired: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let mut out = live.clone();
    for (key, want) in desired {
        let Some(have) = live.get(key) else { continue };
        if !is_secret_key(key) || is_placeholder(have) || !is_placeholder(want) {
            continue;
        }
        let Some(name) = want
            .trim()
            .strip_prefix("${env:")
            .and_then(|rest| rest.strip_suffix('}'))
        else {
            continue;
        };
        if env(name).is_some_and(|value| value == *have) {
            out.insert(key.clone(), want.clone());
        }
    }
    out
}

/// The value as it may be shown: secrets that are not placeholders become [`MASK`].
pub fn shown(key: &str, value: &str) -> String {
    if is_secret_key(key) && !is_placeholder(value) {
        MASK.to_string()
    } else {
        value.to_string()
    }
}

/// One differing key: `None` on a side means absent there. Values are already masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDiff {
    /// Config key.
    pub key: String,
    /// Live value (masked).
    pub before: Option<String>,
    /// Declared value (masked).
    pub after: Option<String>,
}

/// Key-by-key differences between a declared and a live config, with the normalisations
/// described in the module docs. Routes differ only if the sets of routes differ.
pub fn config_differences(
    desired: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Vec<ConfigDiff> {
    let keys: BTreeSet<&String> = desired.keys().chain(live.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        if CONNECT_OWN_KEYS.contains(&key.as_str()) {
            continue;
        }
        let (want, have) = (desired.get(key), live.get(key));
        if same_value(key, want, have) {
            continue;
        }
        out.push(ConfigDiff {
            key: key.clone(),
            before: have.map(|v| shown(key, v)),
            after: want.map(|v| shown(key, v)),
        });
    }
    out
}

fn same_value(key: &str, want: Option<&String>, have: Option<&String>) -> bool {
    match (want, have) {
        (Some(w), Some(h)) if w == h => true,
        (Some(w), Some(h)) => match key {
            "kusto.tables.topics.mapping" => {
                matches!((parse_routes(w), parse_routes(h)), (Ok(a), Ok(b)) if a == b)
            }
            "topics" => topic_set(w) == topic_set(h),
            _ => w.trim().eq_ignore_ascii_case(h.trim()) && is_bool_or_number(w),
        },
        (None, None) => true,
        _ => false,
    }
}

fn topic_set(text: &str) -> BTreeSet<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn is_bool_or_number(text: &str) -> bool {
    let t = text.trim();
    t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") || t.parse::<f64>().is_ok()
}

/// A Kafka topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: u32,
    /// Replication factor; `None` = the broker's default (declared) or unknown (observed).
    pub replication_factor: Option<u16>,
    /// Declared configs (observed: the non-default configs the broker reports).
    pub configs: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn routes_compare_by_content_not_spelling() {
        let ours = r#"[{"topic":"a","db":"db","table":"A","format":"json","mapping":"m","streaming":false},{"topic":"b","db":"db","table":"B","format":"csv"}]"#;
        let theirs = "[ {'topic': 'b', 'db': 'db', 'table': 'B', 'format': 'CSV', 'streaming': 'false'},\n {'topic':'a','db':'db','table':'A','format':'json','mapping':'m'} ]";
        assert_eq!(parse_routes(ours).unwrap(), parse_routes(theirs).unwrap());
        let diffs = config_differences(
            &map(&[
                ("kusto.tables.topics.mapping", ours),
                ("topics", "a,b"),
                ("flush.size.bytes", "100"),
            ]),
            &map(&[
                ("kusto.tables.topics.mapping", theirs),
                ("topics", "b, a"),
                ("flush.size.bytes", "100"),
                ("name", "x"),
            ]),
        );
        assert_eq!(diffs, vec![]);
        let fewer = r#"[{"topic":"a","db":"db","table":"A","format":"json","mapping":"m"}]"#;
        let diffs = config_differences(
            &map(&[("kusto.tables.topics.mapping", fewer)]),
            &map(&[("kusto.tables.topics.mapping", ours)]),
        );
        assert_eq!(diffs.len(), 1);
        assert!(
            parse_routes("[{'topic': 'a'}]")
                .unwrap_err()
                .contains("no `db`")
        );
    }

    #[test]
    fn a_literal_secret_equal_to_the_resolved_env_reference_is_that_reference() {
        let desired = map(&[
            ("aad.auth.appkey", "${env:SINK_APPKEY}"),
            ("flush.size.bytes", "100"),
        ]);
        let live = map(&[
            ("aad.auth.appkey", "the-live-key"),
            ("flush.size.bytes", "200"),
        ]);
        let set =
            |v: &'static str| move |name: &str| (name == "SINK_APPKEY").then(|| v.to_string());
        let same = adopt_resolved_secrets(&desired, &live, set("the-live-key"));
        assert_eq!(same["aad.auth.appkey"], "${env:SINK_APPKEY}");
        assert_eq!(same["flush.size.bytes"], "200", "only secrets are resolved");
        assert_eq!(config_differences(&desired, &same).len(), 1);
        let other = adopt_resolved_secrets(&desired, &live, set("another-key"));
        assert_eq!(other["aad.auth.appkey"], "the-live-key");
        let unset = adopt_resolved_secrets(&desired, &live, |_| None);
        assert_eq!(
            config_differences(&desired, &unset)[0].before.as_deref(),
            Some(MASK)
        );
    }

    #[test]
    fn secrets_are_masked_placeholders_are_not() {
        let diffs = config_differences(
            &map(&[("aad.auth.appkey", "${file:/s.properties:appkey}")]),
            &map(&[
                ("aad.auth.appkey", "literal-key-value"),
                ("behavior.on.error", "LOG"),
            ]),
        );
        assert_eq!(
            diffs,
            vec![
                ConfigDiff {
                    key: "aad.auth.appkey".into(),
                    before: Some(MASK.into()),
                    after: Some("${file:/s.properties:appkey}".into())
                },
                ConfigDiff {
                    key: "behavior.on.error".into(),
                    before: Some("LOG".into()),
                    after: None
                },
            ]
        );
        let basic = config_differences(
            &map(&[]),
            &map(&[("value.converter.basic.auth.user.info", "user:pw")]),
        );
        assert_eq!(
            basic[0].before.as_deref(),
            Some(MASK),
            "diffs mask with the same rule as the client"
        );
        assert_eq!(
            config_differences(&map(&[("a.enable", "TRUE")]), &map(&[("a.enable", "true")])),
            vec![]
        );
        assert_eq!(
            config_differences(
                &map(&[("behavior.on.error", "log")]),
                &map(&[("behavior.on.error", "LOG")])
            )
            .len(),
            1
        );
    }
}

//! Canonical Kafka Connect and Kafka state: Kusto sink connectors and topics.
//!
//! A connector is its config map plus its desired run state. Comparison is done here, key by key,
//! with the normalisations that keep plans free of false drift: `kusto.tables.topics.mapping` is
//! compared route by route (order, quoting and spacing do not matter), `topics` as a set, keys
//! Connect adds itself are ignored, and secret values are compared without ever being printed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use serde::{Deserialize, Serialize};

use super::sink::{key, parse_routes, topic_list};

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

/// A config-provider placeholder (`${provider:path:key}`), as a regular expression both Rust
/// and the editor schema's ECMAScript engine read the same way.
pub const PLACEHOLDER_PATTERN: &str = r"^\$\{[A-Za-z0-9_.-]+:[^}]+\}$";

/// Config keys that name a credential (matched anywhere, in any case), shared with the editor
/// schema, which spells the case-insensitivity out because JSON Schema patterns have no flags.
pub const REFERENCE_ONLY_KEY_PATTERN: &str = r"(password|secret|token|appkey|app\.key|credential|jaas\.config|private\.key|.key$|accesskey|apikey|user\.info)";

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PLACEHOLDER_PATTERN).unwrap_or_else(|e| panic!("{e}")));
static REFERENCE_ONLY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("(?i){REFERENCE_ONLY_KEY_PATTERN}")).unwrap_or_else(|e| panic!("{e}"))
});

/// Whether a manifest must give this config key's value by reference (a config-provider
/// placeholder), never literally: the keys that name a credential. It covers every key
/// [`is_secret_key`] masks, so a literal secret never reaches the Connect requests a plan
/// shows and a plan file keeps (they carry the declared config as it is sent).
pub fn must_be_reference(key: &str) -> bool {
    REFERENCE_ONLY_KEY.is_match(key)
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
/// ([`must_be_reference`]), the known credential keys, anything whose name
/// contains password/secret/token/credential/jaas.config, and anything ending in `key`
/// (`aad.auth.appkey`, `ssl.key`) or `user.info`. Masking errs on the side of hiding. This is the
/// one rule: the Connect client masks live configs with it and plans mask diffs with it.
pub fn is_secret_key(key: &str) -> bool {
    must_be_reference(key) || looks_secret(key)
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
    PLACEHOLDER.is_match(value.trim())
}

/// The variable a `${env:NAME}` reference names, or `None` for any other value.
pub fn env_reference(value: &str) -> Option<&str> {
    value
        .trim()
        .strip_prefix("${env:")
        .and_then(|rest| rest.strip_suffix('}'))
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
        let Some(name) = env_reference(want) else {
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
            key::ROUTES => {
                matches!((parse_routes(w), parse_routes(h)), (Ok(a), Ok(b)) if a == b)
            }
            key::TOPICS => topic_list(w) == topic_list(h),
            _ => w.trim().eq_ignore_ascii_case(h.trim()) && is_bool_or_number(w),
        },
        (None, None) => true,
        _ => false,
    }
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

    /// A key that plans mask but manifests could set literally would put the secret into the
    /// Connect requests a plan prints and a plan file keeps: every masked key is reference-only.
    #[test]
    fn every_key_masked_as_secret_must_be_given_by_reference() {
        for key in [
            "aad.auth.appkey",
            "aad.auth.accesstoken",
            "sasl.jaas.config",
            "producer.override.sasl.jaas.config",
            "value.converter.basic.auth.user.info",
            "key.converter.schema.registry.basic.auth.user.info",
            "ssl.key.password",
            "ssl.keystore.key",
            "consumer.override.ssl.truststore.password",
            "transforms.mask.apikey",
            "some.client.secret",
            "some.credential.file.content",
            "storage.sharedkey",
        ] {
            assert!(is_secret_key(key), "{key} is masked");
            assert!(must_be_reference(key), "{key} must be a reference");
        }
        for key in [
            "flush.size.bytes",
            "behavior.on.error",
            "key.converter",
            "topics",
        ] {
            assert!(!is_secret_key(key), "{key}");
            assert!(!must_be_reference(key), "{key}");
        }
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

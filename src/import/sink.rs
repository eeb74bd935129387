//! Kusto sink connectors as `Sink` documents: the inverse of
//! [`crate::manifest::desired::connect_state`]. Every key the manifest language has a field for
//! goes to that field; values the fields cannot hold exactly, and keys without a field, go to the
//! sink's `config` (which desired state writes last, so they read back verbatim). Literal secrets
//! never reach this module: [`reference_secrets`] replaces them as soon as a config is read.

use std::collections::{BTreeMap, BTreeSet};

use super::yaml::{MapBuilder, Node};
use crate::model::connect::{
    KUSTO_SINK_CLASS, OWNER_KEY, RunState, is_placeholder, is_secret_key, parse_routes,
};

/// A literal secret that import replaced by a reference: what the user must set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    /// `connect.CLUSTER.connector.NAME`.
    pub address: String,
    /// The connector config key that held the secret.
    pub key: String,
    /// The environment variable the reference names.
    pub env: String,
}

/// `config` with every literal secret (the one rule: [`is_secret_key`] and not
/// [`is_placeholder`]) replaced by `${env:NAME}`, and what was replaced. Placeholders and empty
/// values are kept: they hold no secret.
pub fn reference_secrets(
    cluster: &str,
    connector: &str,
    config: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<SecretReference>) {
    let mut out = config.clone();
    let mut replaced = Vec::new();
    for (key, value) in config {
        if !is_secret_key(key) || value.trim().is_empty() || is_placeholder(value) {
            continue;
        }
        let env = env_name(connector, key);
        out.insert(key.clone(), format!("${{env:{env}}}"));
        replaced.push(SecretReference {
            address: format!("connect.{cluster}.connector.{connector}"),
            key: key.clone(),
            env,
        });
    }
    (out, replaced)
}

/// `gameplay-sink` + `aad.auth.appkey` -> `GAMEPLAY_SINK_AAD_AUTH_APPKEY`.
fn env_name(connector: &str, key: &str) -> String {
    format!("{connector}_{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// What the reverse mapping needs to know besides the connector.
#[derive(Debug, Clone)]
pub struct SinkContext<'a> {
    /// The importing stack's name (the ownership marker).
    pub stack: &'a str,
    /// Connect cluster name from the Stack's targets.
    pub cluster: &'a str,
    /// `kusto.query.url` the Stack's targets derive.
    pub query_url: &'a str,
    /// `kusto.ingestion.url` the Stack's targets derive.
    pub ingest_url: &'a str,
}

/// The `Sink` document of a connector whose secrets are already references, or `None` (with a
/// note saying why) when it is not a Kusto sink or uses what manifests cannot express.
pub fn sink_doc(
    name: &str,
    config: &BTreeMap<String, String>,
    state: RunState,
    ctx: &SinkContext<'_>,
    notes: &mut Vec<String>,
) -> Option<Node> {
    let address = format!("connect.{}.connector.{name}", ctx.cluster);
    let class = config.get("connector.class").map_or("", String::as_str);
    if class != KUSTO_SINK_CLASS {
        notes.push(format!(
            "{address}: skipped, not a Kusto sink connector (class `{class}`)"
        ));
        return None;
    }
    if config.contains_key("topics.regex") {
        notes.push(format!(
            "{address}: skipped, it subscribes with `topics.regex`; sinks list their routes"
        ));
        return None;
    }
    let routes = match parse_routes(
        config
            .get("kusto.tables.topics.mapping")
            .map_or("[]", String::as_str),
    ) {
        Ok(routes) => routes,
        Err(e) => {
            notes.push(format!(
                "{address}: skipped, its `kusto.tables.topics.mapping` cannot be read: {e}"
            ));
            return None;
        }
    };
    let mut m = Reader {
        config,
        used: BTreeSet::from(["name", "connector.class", OWNER_KEY]),
        extra: BTreeMap::new(),
        address: &address,
        notes,
    };
    match config.get(OWNER_KEY) {
        Some(owner) if owner != ctx.stack => m.notes.push(format!(
            "{address}: owned by stack `{owner}`; the plan will show this stack taking it over"
        )),
        _ => {}
    }
    let route_topics: BTreeSet<&str> = routes.iter().map(|r| r.topic.as_str()).collect();
    let live_topics: BTreeSet<&str> = config
        .get("topics")
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    m.used.insert("topics");
    m.used.insert("kusto.tables.topics.mapping");
    if route_topics != live_topics {
        m.notes.push(format!(
            "{address}: `topics` does not list exactly the routed topics; the plan will show `topics` set to the routes' topics"
        ));
    }
    for (key, want) in [
        ("kusto.query.url", ctx.query_url),
        ("kusto.ingestion.url", ctx.ingest_url),
    ] {
        m.used.insert(key);
        if config.get(key).map(|v| v.trim_end_matches('/')) != Some(want) {
            m.notes.push(format!(
                "{address}: `{key}` is not `{want}`, which the Stack's Kusto target derives; the plan will show it changing (or point `targets.kusto` at the cluster it uses)"
            ));
        }
    }
    let tasks_max = m.number("tasks.max").unwrap_or_else(|| {
        m.defaulted("tasks.max", "1");
        1
    });
    let auth = m.auth();
    for key in ["tasks.max", "aad.auth.strategy"] {
        if m.extra.remove(key).is_some() {
            m.notes.push(format!(
                "{address}: `{key}` has a value manifests cannot express; the plan will show it changing"
            ));
        }
    }
    let doc = MapBuilder::default()
        .put("kind", Node::str("Sink"))
        .put("name", Node::str(name))
        .put("connect", Node::str(ctx.cluster))
        .put("tasks_max", Node::Int(tasks_max))
        .opt(
            "state",
            match state {
                RunState::Running => None,
                RunState::Paused => Some(Node::str("paused")),
                RunState::Stopped => Some(Node::str("stopped")),
            },
        )
        .put("auth", auth)
        .opt("errors", m.errors())
        .opt("flush", m.flush())
        .put("converters", m.converters())
        .put(
            "routes",
            Node::Seq(
                routes
                    .iter()
                    .map(|r| {
                        MapBuilder::default()
                            .put("topic", Node::str(&r.topic))
                            .put("database", Node::str(&r.db))
                            .put("table", Node::str(&r.table))
                            .put("format", Node::str(&r.format))
                            .opt("mapping", r.mapping.as_ref().map(Node::str))
                            .put("streaming", Node::Bool(r.streaming))
                            .flow()
                    })
                    .collect(),
            ),
        );
    let rest: Vec<(String, Node)> = config
        .iter()
        .filter(|(k, _)| !m.used.contains(k.as_str()) && !is_converter_key(k))
        .map(|(k, v)| (k.clone(), Node::str(v)))
        .chain(
            std::mem::take(&mut m.extra)
                .into_iter()
                .map(|(k, v)| (k, Node::str(v))),
        )
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    Some(
        doc.opt("config", (!rest.is_empty()).then_some(Node::Map(rest)))
            .block(),
    )
}

fn is_converter_key(key: &str) -> bool {
    ["key.converter", "value.converter"]
        .iter()
        .any(|p| key == *p || key.starts_with(&format!("{p}.")))
}

/// Reads typed fields out of a config, remembering which keys it used and sending values the
/// fields cannot hold to `extra` (the sink's `config`).
struct Reader<'a> {
    config: &'a BTreeMap<String, String>,
    used: BTreeSet<&'a str>,
    extra: BTreeMap<String, String>,
    address: &'a str,
    notes: &'a mut Vec<String>,
}

impl<'a> Reader<'a> {
    fn get(&mut self, key: &'a str) -> Option<&'a String> {
        self.used.insert(key);
        self.config.get(key)
    }

    /// A whole number, or `None` with the value kept verbatim in `config`.
    fn number(&mut self, key: &'a str) -> Option<u64> {
        let value = self.get(key)?;
        match value.trim().parse::<u64>() {
            Ok(n) if n.to_string() == *value => Some(n),
            _ => {
                self.extra.insert(key.to_string(), value.clone());
                None
            }
        }
    }

    /// One of `allowed` exactly as written, or `None` with the value kept in `config`.
    fn word(&mut self, key: &'a str, allowed: &[&str]) -> Option<String> {
        let value = self.get(key)?;
        if allowed.contains(&value.as_str()) {
            Some(value.clone())
        } else {
            self.extra.insert(key.to_string(), value.clone());
            None
        }
    }

    /// kustoplan always writes `key`; a live config without it will see it set.
    fn defaulted(&mut self, key: &str, default: &str) {
        self.notes.push(format!(
            "{}: `{key}` is not set; kustoplan always writes it (`{default}`), so the plan will show it",
            self.address
        ));
    }

    fn auth(&mut self) -> Node {
        let strategies = ["application", "managed_identity", "workload_identity"];
        let strategy = match self.config.get("aad.auth.strategy") {
            None => {
                self.used.insert("aad.auth.strategy");
                self.defaulted("aad.auth.strategy", "application");
                "application".to_string()
            }
            Some(_) => self
                .word("aad.auth.strategy", &strategies)
                .unwrap_or_else(|| "application".to_string()),
        };
        let app_key = self.get("aad.auth.appkey").map(|key| {
            match key
                .trim()
                .strip_prefix("${env:")
                .and_then(|rest| rest.strip_suffix('}'))
            {
                Some(env) => MapBuilder::default().put("env", Node::str(env)).flow(),
                None => Node::str(key),
            }
        });
        MapBuilder::default()
            .put("strategy", Node::str(strategy))
            .opt("app_id", self.get("aad.auth.appid").map(Node::str))
            .opt("tenant_id", self.get("aad.auth.authority").map(Node::str))
            .opt("app_key", app_key)
            .block()
    }

    fn errors(&mut self) -> Option<Node> {
        let behavior = if self.config.contains_key("behavior.on.error") {
            self.word("behavior.on.error", &["fail", "log", "ignore"])
        } else {
            self.defaulted("behavior.on.error", "fail");
            None
        };
        let tolerance = if self.config.contains_key("errors.tolerance") {
            self.word("errors.tolerance", &["none", "all"])
        } else {
            self.defaulted("errors.tolerance", "none");
            None
        };
        let dlq = self
            .get("errors.deadletterqueue.topic.name")
            .cloned()
            .map(|topic| {
                let rf = self.number("errors.deadletterqueue.topic.replication.factor");
                let headers = match self.get("errors.deadletterqueue.context.headers.enable") {
                    None => {
                        self.defaulted("errors.deadletterqueue.context.headers.enable", "false");
                        None
                    }
                    Some(v) => self.boolean("errors.deadletterqueue.context.headers.enable", v),
                };
                MapBuilder::default()
                    .put("topic", Node::str(topic))
                    .opt("replication_factor", rf.map(Node::Int))
                    .opt("context_headers", headers.filter(|h| *h).map(Node::Bool))
                    .flow()
            });
        let retry_max = self.number("errors.retry.max.time.ms");
        let retry_backoff = self.number("errors.retry.backoff.time.ms");
        let node = MapBuilder::default()
            .opt("behavior", behavior.filter(|b| b != "fail").map(Node::str))
            .opt(
                "tolerance",
                tolerance.filter(|t| t != "none").map(Node::str),
            )
            .opt("dead_letter_queue", dlq)
            .opt("retry_max_time_ms", retry_max.map(Node::Int))
            .opt("retry_backoff_ms", retry_backoff.map(Node::Int))
            .block();
        (node != Node::Map(Vec::new())).then_some(node)
    }

    /// `true`/`false` in any case, or `None` with the value kept in `config`.
    fn boolean(&mut self, key: &str, value: &str) -> Option<bool> {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.extra.insert(key.to_string(), value.to_string());
                None
            }
        }
    }

    fn flush(&mut self) -> Option<Node> {
        let size = self.number("flush.size.bytes");
        let interval = self.number("flush.interval.ms");
        let node = MapBuilder::default()
            .opt("size_bytes", size.map(Node::Int))
            .opt("interval_ms", interval.map(Node::Int))
            .block();
        (node != Node::Map(Vec::new())).then_some(node)
    }

    fn converters(&mut self) -> Node {
        MapBuilder::default()
            .put("key", self.converter("key.converter"))
            .put("value", self.converter("value.converter"))
            .block()
    }

    fn converter(&mut self, prefix: &str) -> Node {
        let class = match self.config.get(prefix).map(String::as_str) {
            None => {
                self.defaulted(prefix, "org.apache.kafka.connect.json.JsonConverter");
                "json".to_string()
            }
            Some("org.apache.kafka.connect.json.JsonConverter") => "json".to_string(),
            Some("org.apache.kafka.connect.storage.StringConverter") => "string".to_string(),
            Some("org.apache.kafka.connect.converters.ByteArrayConverter") => {
                "bytearray".to_string()
            }
            Some("io.confluent.connect.avro.AvroConverter") => "avro".to_string(),
            Some(other) => other.to_string(),
        };
        let schemas_key = format!("{prefix}.schemas.enable");
        let mut properties = BTreeMap::new();
        let schemas_enable = match self.config.get(&schemas_key) {
            None => {
                self.defaulted(&schemas_key, "false");
                false
            }
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    properties.insert("schemas.enable".to_string(), Node::str(v));
                    false
                }
            },
        };
        let nested = format!("{prefix}.");
        for (key, value) in self.config {
            if let Some(property) = key.strip_prefix(&nested)
                && property != "schemas.enable"
            {
                properties.insert(property.to_string(), Node::str(value));
            }
        }
        MapBuilder::default()
            .put("class", Node::str(class))
            .put("schemas_enable", Node::Bool(schemas_enable))
            .opt(
                "properties",
                (!properties.is_empty()).then(|| Node::Map(properties.into_iter().collect())),
            )
            .block()
    }
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
    fn literal_secrets_become_env_references_placeholders_stay() {
        let (config, replaced) = reference_secrets(
            "main",
            "game-sink",
            &map(&[
                ("aad.auth.appkey", "s3cret-value"),
                ("consumer.override.sasl.jaas.config", "${file:/s:jaas}"),
                ("flush.size.bytes", "100"),
            ]),
        );
        assert_eq!(
            config["aad.auth.appkey"],
            "${env:GAME_SINK_AAD_AUTH_APPKEY}"
        );
        assert_eq!(
            config["consumer.override.sasl.jaas.config"],
            "${file:/s:jaas}"
        );
        assert_eq!(config["flush.size.bytes"], "100");
        assert_eq!(
            replaced,
            vec![SecretReference {
                address: "connect.main.connector.game-sink".into(),
                key: "aad.auth.appkey".into(),
                env: "GAME_SINK_AAD_AUTH_APPKEY".into(),
            }]
        );
        assert!(!format!("{config:?}{replaced:?}").contains("s3cret-value"));
    }

    #[test]
    fn other_connector_classes_are_skipped_with_a_note() {
        let mut notes = Vec::new();
        let ctx = SinkContext {
            stack: "s",
            cluster: "main",
            query_url: "q",
            ingest_url: "i",
        };
        let doc = sink_doc(
            "mirror",
            &map(&[("connector.class", "org.example.Mirror")]),
            RunState::Running,
            &ctx,
            &mut notes,
        );
        assert_eq!(doc, None);
        assert!(notes[0].contains("not a Kusto sink"), "{notes:?}");
    }
}

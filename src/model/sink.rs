//! The Kusto sink connector's settings as one typed model, and the one table between its fields
//! and Connect config keys. Desired state writes a config with [`SinkSettings::to_config`];
//! import reads one back with [`SinkSettings::read`]; plan, cross-system checks and status read
//! routes with [`routes_in`]. Every Connect key of the sink is spelled once, in [`key`], so a
//! renamed or added setting cannot be handled one way in desired state and another in import.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::connect::OWNER_KEY;

/// The Kusto sink connector class.
pub const KUSTO_SINK_CLASS: &str =
    "com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector";

/// The Connect config keys the sink model has fields for, as the connector's README spells them.
pub mod key {
    /// The connector class.
    pub const CLASS: &str = "connector.class";
    /// Parallel tasks.
    pub const TASKS_MAX: &str = "tasks.max";
    /// The subscribed topics, comma-separated.
    pub const TOPICS: &str = "topics";
    /// A regex subscription, which manifests do not express (sinks list their routes).
    pub const TOPICS_REGEX: &str = "topics.regex";
    /// The routes, a JSON array.
    pub const ROUTES: &str = "kusto.tables.topics.mapping";
    /// The cluster's ingestion endpoint.
    pub const INGEST_URL: &str = "kusto.ingestion.url";
    /// The cluster's query endpoint.
    pub const QUERY_URL: &str = "kusto.query.url";
    /// How the connector authenticates.
    pub const AUTH_STRATEGY: &str = "aad.auth.strategy";
    /// The AAD application (or user-assigned identity) client id.
    pub const APP_ID: &str = "aad.auth.appid";
    /// The application key: a secret, only ever a reference.
    pub const APP_KEY: &str = "aad.auth.appkey";
    /// The tenant.
    pub const AUTHORITY: &str = "aad.auth.authority";
    /// What the sink does with a record it cannot ingest.
    pub const BEHAVIOR_ON_ERROR: &str = "behavior.on.error";
    /// What the Connect framework does with a record it cannot convert.
    pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
    /// Connect's dead-letter topic.
    pub const DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";
    /// Replication factor of the dead-letter topic when Connect creates it.
    pub const DLQ_REPLICATION_FACTOR: &str = "errors.deadletterqueue.topic.replication.factor";
    /// Whether dead-lettered records carry the failure in headers.
    pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";
    /// How long Connect retries a failed operation.
    pub const RETRY_MAX_TIME_MS: &str = "errors.retry.max.time.ms";
    /// The wait between Connect's retries.
    pub const RETRY_BACKOFF_MS: &str = "errors.retry.backoff.time.ms";
    /// Flush a batch at this many bytes.
    pub const FLUSH_SIZE_BYTES: &str = "flush.size.bytes";
    /// Flush a batch after this long.
    pub const FLUSH_INTERVAL_MS: &str = "flush.interval.ms";
    /// The record key converter (its properties are nested under this prefix).
    pub const KEY_CONVERTER: &str = "key.converter";
    /// The record value converter (its properties are nested under this prefix).
    pub const VALUE_CONVERTER: &str = "value.converter";
    /// The converter property kustoplan always writes (JsonConverter's default rejects plain JSON).
    pub const SCHEMAS_ENABLE: &str = "schemas.enable";
}

/// `aad.auth.strategy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SinkAuthStrategy {
    /// App id + key.
    Application,
    /// The worker's managed identity.
    ManagedIdentity,
    /// AKS workload identity.
    WorkloadIdentity,
}

/// `behavior.on.error`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop the task.
    #[default]
    Fail,
    /// Log and continue.
    Log,
    /// Continue silently.
    Ignore,
}

/// `errors.tolerance`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tolerance {
    /// Fail on the first bad record.
    #[default]
    None,
    /// Skip bad records (to the DLQ when one is set).
    All,
}

/// A closed set of config values, spelled as Connect stores them: one table each way.
trait ConnectWord: Sized + Copy + 'static {
    const ALL: &'static [(Self, &'static str)];

    fn connect_value(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map_or("", |(_, text)| text)
    }

    fn from_connect(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, spelled)| *spelled == text)
            .map(|(v, _)| *v)
    }
}

impl ConnectWord for SinkAuthStrategy {
    const ALL: &'static [(Self, &'static str)] = &[
        (Self::Application, "application"),
        (Self::ManagedIdentity, "managed_identity"),
        (Self::WorkloadIdentity, "workload_identity"),
    ];
}

impl ConnectWord for OnError {
    const ALL: &'static [(Self, &'static str)] = &[
        (Self::Fail, "fail"),
        (Self::Log, "log"),
        (Self::Ignore, "ignore"),
    ];
}

impl ConnectWord for Tolerance {
    const ALL: &'static [(Self, &'static str)] = &[(Self::None, "none"), (Self::All, "all")];
}

impl SinkAuthStrategy {
    /// The value of `aad.auth.strategy`.
    pub fn connect_value(self) -> &'static str {
        ConnectWord::connect_value(self)
    }
}

impl OnError {
    /// The value of `behavior.on.error`.
    pub fn connect_value(self) -> &'static str {
        ConnectWord::connect_value(self)
    }
}

impl Tolerance {
    /// The value of `errors.tolerance`.
    pub fn connect_value(self) -> &'static str {
        ConnectWord::connect_value(self)
    }
}

/// Converter short names manifests accept, and the classes they stand for.
const CONVERTER_CLASSES: [(&str, &str); 4] = [
    ("json", "org.apache.kafka.connect.json.JsonConverter"),
    ("string", "org.apache.kafka.connect.storage.StringConverter"),
    (
        "bytearray",
        "org.apache.kafka.connect.converters.ByteArrayConverter",
    ),
    ("avro", "io.confluent.connect.avro.AvroConverter"),
];

/// The class a manifest's converter name stands for: a short name's class, anything else as is.
pub fn converter_class(name: &str) -> &str {
    CONVERTER_CLASSES
        .iter()
        .find(|(short, _)| *short == name)
        .map_or(name, |(_, class)| class)
}

/// The short name manifests write for a converter class, if it has one.
pub fn converter_short_name(class: &str) -> Option<&'static str> {
    CONVERTER_CLASSES
        .iter()
        .find(|(_, known)| *known == class)
        .map(|(short, _)| *short)
}

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

/// The routes of a connector config, or `None` when it has none or they cannot be read (a
/// live connector kustoplan did not write may hold anything there).
pub fn routes_in(config: &BTreeMap<String, String>) -> Option<Vec<Route>> {
    config
        .get(key::ROUTES)
        .and_then(|text| parse_routes(text).ok())
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

/// The topics a comma-separated `topics` value lists.
pub fn topic_list(text: &str) -> BTreeSet<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// How the connector authenticates to Kusto (`aad.auth.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkAuthSettings {
    /// `aad.auth.strategy`.
    pub strategy: SinkAuthStrategy,
    /// `aad.auth.appid`.
    pub app_id: Option<String>,
    /// `aad.auth.authority`.
    pub authority: Option<String>,
    /// `aad.auth.appkey`: a config-provider reference such as `${env:NAME}`, never a literal.
    pub app_key: Option<String>,
}

/// Connect's dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterSettings {
    /// `errors.deadletterqueue.topic.name`.
    pub topic: String,
    /// `errors.deadletterqueue.topic.replication.factor`.
    pub replication_factor: Option<u16>,
    /// `errors.deadletterqueue.context.headers.enable`.
    pub context_headers: bool,
}

/// Error handling of the sink and of the Connect framework around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorSettings {
    /// `behavior.on.error`.
    pub behavior: OnError,
    /// `errors.tolerance`.
    pub tolerance: Tolerance,
    /// The dead-letter queue, if any.
    pub dead_letter_queue: Option<DeadLetterSettings>,
    /// `errors.retry.max.time.ms`.
    pub retry_max_time_ms: Option<u64>,
    /// `errors.retry.backoff.time.ms`.
    pub retry_backoff_ms: Option<u64>,
}

/// When the sink flushes a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushSettings {
    /// `flush.size.bytes`.
    pub size_bytes: Option<u64>,
    /// `flush.interval.ms`.
    pub interval_ms: Option<u64>,
}

/// One record converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConverterSettings {
    /// The converter class, in full.
    pub class: String,
    /// `schemas.enable`, always written.
    pub schemas_enable: bool,
    /// Other properties nested under the converter's prefix (without it).
    pub properties: BTreeMap<String, String>,
}

impl ConverterSettings {
    /// JsonConverter without schemas: what kustoplan writes when nothing else is said.
    pub fn plain_json() -> Self {
        ConverterSettings {
            class: converter_class("json").to_string(),
            schemas_enable: false,
            properties: BTreeMap::new(),
        }
    }
}

/// Every setting of a Kusto sink connector kustoplan manages, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSettings {
    /// `tasks.max`.
    pub tasks_max: u32,
    /// The routes; `topics` is derived from them.
    pub routes: Vec<Route>,
    /// `kusto.query.url`.
    pub query_url: Option<String>,
    /// `kusto.ingestion.url`.
    pub ingest_url: Option<String>,
    /// `aad.auth.*`.
    pub auth: SinkAuthSettings,
    /// `behavior.on.error` and `errors.*`.
    pub errors: ErrorSettings,
    /// `flush.*`.
    pub flush: FlushSettings,
    /// `key.converter*`.
    pub key_converter: ConverterSettings,
    /// `value.converter*`.
    pub value_converter: ConverterSettings,
    /// Keys without a field, and values a field cannot hold exactly, verbatim. Written last,
    /// so they read back as they were.
    pub extra: BTreeMap<String, String>,
}

/// Something reading a live config found that a plan will show changing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFinding {
    /// The key is absent; kustoplan always writes it, with this value.
    Defaulted {
        /// The config key.
        key: String,
        /// What kustoplan writes.
        default: &'static str,
    },
    /// The key's value is outside what manifests can say, and the key cannot be passed through.
    Inexpressible {
        /// The config key.
        key: &'static str,
    },
    /// `topics` does not list exactly the routed topics.
    TopicsDifferFromRoutes,
}

impl fmt::Display for ReadFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFinding::Defaulted { key, default } => write!(
                f,
                "`{key}` is not set; kustoplan always writes it (`{default}`), so the plan will show it"
            ),
            ReadFinding::Inexpressible { key } => write!(
                f,
                "`{key}` has a value manifests cannot express; the plan will show it changing"
            ),
            ReadFinding::TopicsDifferFromRoutes => write!(
                f,
                "`topics` does not list exactly the routed topics; the plan will show `topics` set to the routes' topics"
            ),
        }
    }
}

/// A live config read into the sink model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkReading {
    /// The settings; writing them back gives the live config, except where `findings` say.
    pub settings: SinkSettings,
    /// What a plan from these settings would change on the live connector.
    pub findings: Vec<ReadFinding>,
}

impl SinkSettings {
    /// The connector config these settings are: every key with a field, `topics` from the
    /// routes, `schemas.enable` always explicit, then `extra`, then the ownership marker.
    pub fn to_config(&self, owner: &str) -> BTreeMap<String, String> {
        let mut c: BTreeMap<String, String> = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            c.insert(k.to_string(), v.to_string());
        };
        put(key::CLASS, KUSTO_SINK_CLASS);
        put(key::TASKS_MAX, &self.tasks_max.to_string());
        let topics: Vec<&str> = self.routes.iter().map(|r| r.topic.as_str()).collect();
        put(key::TOPICS, &topics.join(","));
        put(key::ROUTES, &render_routes(&self.routes));
        for (k, v) in [
            (key::INGEST_URL, &self.ingest_url),
            (key::QUERY_URL, &self.query_url),
            (key::APP_ID, &self.auth.app_id),
            (key::AUTHORITY, &self.auth.authority),
            (key::APP_KEY, &self.auth.app_key),
        ] {
            if let Some(v) = v {
                put(k, v);
            }
        }
        put(key::AUTH_STRATEGY, self.auth.strategy.connect_value());
        let errors = &self.errors;
        put(key::BEHAVIOR_ON_ERROR, errors.behavior.connect_value());
        put(key::ERRORS_TOLERANCE, errors.tolerance.connect_value());
        if let Some(dlq) = &errors.dead_letter_queue {
            put(key::DLQ_TOPIC, &dlq.topic);
            if let Some(rf) = dlq.replication_factor {
                put(key::DLQ_REPLICATION_FACTOR, &rf.to_string());
            }
            put(key::DLQ_CONTEXT_HEADERS, &dlq.context_headers.to_string());
        }
        for (k, v) in [
            (key::RETRY_MAX_TIME_MS, errors.retry_max_time_ms),
            (key::RETRY_BACKOFF_MS, errors.retry_backoff_ms),
            (key::FLUSH_SIZE_BYTES, self.flush.size_bytes),
            (key::FLUSH_INTERVAL_MS, self.flush.interval_ms),
        ] {
            if let Some(v) = v {
                put(k, &v.to_string());
            }
        }
        for (prefix, conv) in [
            (key::KEY_CONVERTER, &self.key_converter),
            (key::VALUE_CONVERTER, &self.value_converter),
        ] {
            put(prefix, &conv.class);
            put(
                &format!("{prefix}.{}", key::SCHEMAS_ENABLE),
                &conv.schemas_enable.to_string(),
            );
            for (k, v) in &conv.properties {
                put(&format!("{prefix}.{k}"), v);
            }
        }
        for (k, v) in &self.extra {
            put(k, v);
        }
        put(OWNER_KEY, owner);
        c
    }

    /// Reads a live connector config into the model: every key with a field goes to it; values
    /// a field cannot hold exactly, and keys without a field, go to `extra`. Fails only when the
    /// routes cannot be read, since a sink without readable routes cannot be managed.
    pub fn read(config: &BTreeMap<String, String>) -> Result<SinkReading, String> {
        let routes = parse_routes(config.get(key::ROUTES).map_or("[]", String::as_str))?;
        let mut r = Reader {
            config,
            used: BTreeSet::from(["name", key::CLASS, OWNER_KEY, key::ROUTES, key::TOPICS]),
            extra: BTreeMap::new(),
            findings: Vec::new(),
        };
        let route_topics: BTreeSet<&str> = routes.iter().map(|r| r.topic.as_str()).collect();
        let live_topics = config
            .get(key::TOPICS)
            .map(|t| topic_list(t))
            .unwrap_or_default();
        if route_topics != live_topics {
            r.findings.push(ReadFinding::TopicsDifferFromRoutes);
        }
        let query_url = r.get(key::QUERY_URL).cloned();
        let ingest_url = r.get(key::INGEST_URL).cloned();
        let tasks_max = match r.get(key::TASKS_MAX) {
            None => {
                r.defaulted(key::TASKS_MAX, "1");
                1
            }
            Some(text) => r.exact_number(key::TASKS_MAX, text).unwrap_or(1),
        };
        let auth = r.auth();
        let errors = r.errors();
        let flush = FlushSettings {
            size_bytes: r.number(key::FLUSH_SIZE_BYTES),
            interval_ms: r.number(key::FLUSH_INTERVAL_MS),
        };
        let key_converter = r.converter(key::KEY_CONVERTER);
        let value_converter = r.converter(key::VALUE_CONVERTER);
        for inexpressible in [key::TASKS_MAX, key::AUTH_STRATEGY] {
            if r.extra.remove(inexpressible).is_some() {
                r.findings
                    .push(ReadFinding::Inexpressible { key: inexpressible });
            }
        }
        let mut extra = std::mem::take(&mut r.extra);
        for (k, v) in config {
            if !r.used.contains(k.as_str()) && !is_converter_key(k) {
                extra.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(SinkReading {
            settings: SinkSettings {
                tasks_max,
                routes,
                query_url,
                ingest_url,
                auth,
                errors,
                flush,
                key_converter,
                value_converter,
                extra,
            },
            findings: r.findings,
        })
    }
}

/// Whether a key belongs to a converter (its class or a nested property).
fn is_converter_key(k: &str) -> bool {
    [key::KEY_CONVERTER, key::VALUE_CONVERTER]
        .iter()
        .any(|p| k == *p || k.strip_prefix(p).is_some_and(|rest| rest.starts_with('.')))
}

/// Reads typed fields out of a config, remembering which keys it used and sending values the
/// fields cannot hold to `extra`.
struct Reader<'a> {
    config: &'a BTreeMap<String, String>,
    used: BTreeSet<&'a str>,
    extra: BTreeMap<String, String>,
    findings: Vec<ReadFinding>,
}

impl<'a> Reader<'a> {
    fn get(&mut self, key: &'a str) -> Option<&'a String> {
        self.used.insert(key);
        self.config.get(key)
    }

    fn defaulted(&mut self, key: &str, default: &'static str) {
        self.findings.push(ReadFinding::Defaulted {
            key: key.to_string(),
            default,
        });
    }

    /// A whole number written the canonical way, or `None` with the value kept in `extra`.
    fn exact_number<N: std::str::FromStr + ToString>(
        &mut self,
        key: &str,
        text: &str,
    ) -> Option<N> {
        match text.trim().parse::<N>() {
            Ok(n) if n.to_string() == text => Some(n),
            _ => {
                self.extra.insert(key.to_string(), text.to_string());
                None
            }
        }
    }

    fn number<N: std::str::FromStr + ToString>(&mut self, key: &'a str) -> Option<N> {
        let text = self.get(key)?;
        self.exact_number(key, text)
    }

    /// One of a closed set of words, or the default with the value kept in `extra`; a missing
    /// key is a finding, since kustoplan always writes it.
    fn word<W: ConnectWord + PartialEq>(&mut self, key: &'a str, default: W) -> W {
        match self.get(key) {
            None => {
                self.defaulted(key, default.connect_value());
                default
            }
            Some(text) => W::from_connect(text).unwrap_or_else(|| {
                self.extra.insert(key.to_string(), text.clone());
                default
            }),
        }
    }

    /// `true`/`false` in any case, or `None` with the value kept in `extra`.
    fn boolean(&mut self, key: &str, text: &str) -> Option<bool> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.extra.insert(key.to_string(), text.to_string());
                None
            }
        }
    }

    fn auth(&mut self) -> SinkAuthSettings {
        SinkAuthSettings {
            strategy: self.word(key::AUTH_STRATEGY, SinkAuthStrategy::Application),
            app_id: self.get(key::APP_ID).cloned(),
            authority: self.get(key::AUTHORITY).cloned(),
            app_key: self.get(key::APP_KEY).cloned(),
        }
    }

    fn errors(&mut self) -> ErrorSettings {
        let behavior = self.word(key::BEHAVIOR_ON_ERROR, OnError::Fail);
        let tolerance = self.word(key::ERRORS_TOLERANCE, Tolerance::None);
        let dead_letter_queue = self.get(key::DLQ_TOPIC).cloned().map(|topic| {
            let replication_factor = self.number(key::DLQ_REPLICATION_FACTOR);
            let context_headers = match self.get(key::DLQ_CONTEXT_HEADERS) {
                None => {
                    self.defaulted(key::DLQ_CONTEXT_HEADERS, "false");
                    false
                }
                Some(text) => self
                    .boolean(key::DLQ_CONTEXT_HEADERS, text)
                    .unwrap_or(false),
            };
            DeadLetterSettings {
                topic,
                replication_factor,
                context_headers,
            }
        });
        ErrorSettings {
            behavior,
            tolerance,
            dead_letter_queue,
            retry_max_time_ms: self.number(key::RETRY_MAX_TIME_MS),
            retry_backoff_ms: self.number(key::RETRY_BACKOFF_MS),
        }
    }

    fn converter(&mut self, prefix: &'a str) -> ConverterSettings {
        let class = match self.get(prefix) {
            None => {
                self.defaulted(prefix, converter_class("json"));
                converter_class("json").to_string()
            }
            Some(class) => class.clone(),
        };
        let schemas_key = format!("{prefix}.{}", key::SCHEMAS_ENABLE);
        let mut properties = BTreeMap::new();
        let schemas_enable = match self.config.get(&schemas_key) {
            None => {
                self.defaulted(&schemas_key, "false");
                false
            }
            Some(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    properties.insert(key::SCHEMAS_ENABLE.to_string(), text.clone());
                    false
                }
            },
        };
        let nested = format!("{prefix}.");
        for (k, v) in self.config {
            if let Some(property) = k.strip_prefix(&nested)
                && property != key::SCHEMAS_ENABLE
            {
                properties.insert(property.to_string(), v.clone());
            }
        }
        ConverterSettings {
            class,
            schemas_enable,
            properties,
        }
    }
}

#[cfg(test)]
mod tests;

//! Kusto sink connectors as `Sink` documents: the inverse of
//! [`crate::manifest::desired::connect_state`]. Every key the manifest language has a field for
//! goes to that field; values the fields cannot hold exactly, and keys without a field, go to the
//! sink's `config` (which desired state writes last, so they read back verbatim). Literal secrets
//! never reach this module: [`reference_secrets`] replaces them as soon as a config is read.

use std::collections::BTreeMap;

use super::yaml::{MapBuilder, Node};
use crate::model::connect::{OWNER_KEY, RunState, env_reference, is_placeholder, is_secret_key};
use crate::model::sink::{
    ConverterSettings, ErrorSettings, FlushSettings, KUSTO_SINK_CLASS, OnError, SinkAuthSettings,
    SinkSettings, Tolerance, converter_short_name, key,
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
            address: crate::plan::Address::connector(cluster, connector).to_string(),
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
    let class = config.get(key::CLASS).map_or("", String::as_str);
    if class != KUSTO_SINK_CLASS {
        notes.push(format!(
            "{address}: skipped, not a Kusto sink connector (class `{class}`)"
        ));
        return None;
    }
    if config.contains_key(key::TOPICS_REGEX) {
        notes.push(format!(
            "{address}: skipped, it subscribes with `{}`; sinks list their routes",
            key::TOPICS_REGEX
        ));
        return None;
    }
    let reading = match SinkSettings::read(config) {
        Ok(reading) => reading,
        Err(e) => {
            notes.push(format!(
                "{address}: skipped, its `{}` cannot be read: {e}",
                key::ROUTES
            ));
            return None;
        }
    };
    if let Some(owner) = config.get(OWNER_KEY).filter(|owner| *owner != ctx.stack) {
        notes.push(format!(
            "{address}: owned by stack `{owner}`; the plan will show this stack taking it over"
        ));
    }
    for (key, have, want) in [
        (key::QUERY_URL, &reading.settings.query_url, ctx.query_url),
        (
            key::INGEST_URL,
            &reading.settings.ingest_url,
            ctx.ingest_url,
        ),
    ] {
        if have.as_deref().map(|v| v.trim_end_matches('/')) != Some(want) {
            notes.push(format!(
                "{address}: `{key}` is not `{want}`, which the Stack's Kusto target derives; the plan will show it changing (or point `targets.kusto` at the cluster it uses)"
            ));
        }
    }
    notes.extend(
        reading
            .findings
            .iter()
            .map(|finding| format!("{address}: {finding}")),
    );
    let s = &reading.settings;
    let doc = MapBuilder::default()
        .put("kind", Node::str("Sink"))
        .put("name", Node::str(name))
        .put("connect", Node::str(ctx.cluster))
        .put("tasks_max", Node::Int(u64::from(s.tasks_max)))
        .opt(
            "state",
            match state {
                RunState::Running => None,
                RunState::Paused => Some(Node::str("paused")),
                RunState::Stopped => Some(Node::str("stopped")),
            },
        )
        .put("auth", auth_doc(&s.auth))
        .opt("errors", errors_doc(&s.errors))
        .opt("flush", flush_doc(&s.flush))
        .put(
            "converters",
            MapBuilder::default()
                .put("key", converter_doc(&s.key_converter))
                .put("value", converter_doc(&s.value_converter))
                .block(),
        )
        .put(
            "routes",
            Node::Seq(
                s.routes
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
    let rest: Vec<(String, Node)> = s
        .extra
        .iter()
        .map(|(k, v)| (k.clone(), Node::str(v)))
        .collect();
    Some(
        doc.opt("config", (!rest.is_empty()).then_some(Node::Map(rest)))
            .block(),
    )
}

fn auth_doc(auth: &SinkAuthSettings) -> Node {
    let app_key = auth.app_key.as_ref().map(|key| match env_reference(key) {
        Some(env) => MapBuilder::default().put("env", Node::str(env)).flow(),
        None => Node::str(key),
    });
    MapBuilder::default()
        .put("strategy", Node::str(auth.strategy.connect_value()))
        .opt("app_id", auth.app_id.as_ref().map(Node::str))
        .opt("tenant_id", auth.authority.as_ref().map(Node::str))
        .opt("app_key", app_key)
        .block()
}

/// The `errors` block, without what manifests default (`fail`, `none`), or `None` if empty.
fn errors_doc(errors: &ErrorSettings) -> Option<Node> {
    let dlq = errors.dead_letter_queue.as_ref().map(|dlq| {
        MapBuilder::default()
            .put("topic", Node::str(&dlq.topic))
            .opt(
                "replication_factor",
                dlq.replication_factor.map(|rf| Node::Int(u64::from(rf))),
            )
            .opt(
                "context_headers",
                dlq.context_headers.then_some(Node::Bool(true)),
            )
            .flow()
    });
    let node = MapBuilder::default()
        .opt(
            "behavior",
            (errors.behavior != OnError::Fail).then(|| Node::str(errors.behavior.connect_value())),
        )
        .opt(
            "tolerance",
            (errors.tolerance != Tolerance::None)
                .then(|| Node::str(errors.tolerance.connect_value())),
        )
        .opt("dead_letter_queue", dlq)
        .opt("retry_max_time_ms", errors.retry_max_time_ms.map(Node::Int))
        .opt("retry_backoff_ms", errors.retry_backoff_ms.map(Node::Int))
        .block();
    (node != Node::Map(Vec::new())).then_some(node)
}

fn flush_doc(flush: &FlushSettings) -> Option<Node> {
    let node = MapBuilder::default()
        .opt("size_bytes", flush.size_bytes.map(Node::Int))
        .opt("interval_ms", flush.interval_ms.map(Node::Int))
        .block();
    (node != Node::Map(Vec::new())).then_some(node)
}

fn converter_doc(conv: &ConverterSettings) -> Node {
    MapBuilder::default()
        .put(
            "class",
            Node::str(converter_short_name(&conv.class).unwrap_or(&conv.class)),
        )
        .put("schemas_enable", Node::Bool(conv.schemas_enable))
        .opt(
            "properties",
            (!conv.properties.is_empty()).then(|| {
                Node::Map(
                    conv.properties
                        .iter()
                        .map(|(k, v)| (k.clone(), Node::str(v)))
                        .collect(),
                )
            }),
        )
        .block()
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

//! Semantic rules: what the schema cannot say. Each rule adds one diagnostic per problem, at the
//! position of the offending value, with a one-line fix.

use std::collections::{BTreeMap, HashMap};

use super::located::Located;
use super::node::Loc;
use super::spec::{
    AadAuth, AuthMethod, BatchingSpec, CachingSpec, ConfigValue, FunctionDoc, KafkaProtocol,
    KafkaTarget, MappingSpec, MaterializedViewDoc, ParameterSpec, PrincipalSpec, RetentionSpec,
    SaslMechanism, SecretRef, SinkDoc, TableDoc, UpdatePolicySpec,
};
use super::{Manifests, group_by};
use crate::diagnostics::Diagnostic;
use crate::model::connect::{is_placeholder, must_be_reference};
use crate::model::endpoint::{Endpoint, oauth_scope_for_bootstrap};
use crate::model::function::check_body;
use crate::model::sink::{SinkAuthStrategy, key};
use crate::model::{
    ColumnType, ConnectManager, DataFormat, MappingKind, Timespan, check_kafka_topic_name,
    check_kusto_name, is_sink_safe_name,
};

mod database;
mod function;
mod sink;
mod stack;
mod table;
mod topic;
mod view;

/// Documented limits of the ingestion batching policy.
pub const BATCHING_TIME_MIN: Timespan = Timespan::from_secs(10);
/// Upper limit of `MaximumBatchingTimeSpan`.
pub const BATCHING_TIME_MAX: Timespan = Timespan::from_secs(30 * 60);
/// Limits of `MaximumNumberOfItems`.
pub const BATCHING_ITEMS: (u64, u64) = (1, 25_000);
/// Limits of `MaximumRawDataSizeMB`.
pub const BATCHING_SIZE_MB: (u64, u64) = (100, 4_096);
/// The sink's largest useful flush for streaming routes (streaming requests are capped at 4 MB).
const STREAMING_FLUSH_MAX: u64 = 4 * 1024 * 1024;
/// The sink's minimum for `flush.size.bytes` and `flush.interval.ms`.
pub const FLUSH_MIN: u64 = 100;

/// Connector properties kustoplan derives itself; setting them by hand would fight the plan.
pub const DERIVED_KEYS: [(&str, &str); 13] = [
    (key::CLASS, "it is always the Kusto sink"),
    (key::TOPICS, "list routes instead"),
    (key::TOPICS_REGEX, "list routes instead"),
    (key::ROUTES, "list routes instead"),
    (key::INGEST_URL, "set `targets.kusto.ingest` instead"),
    (key::QUERY_URL, "set `targets.kusto.cluster` instead"),
    (key::TASKS_MAX, "set `tasks_max` instead"),
    (key::AUTH_STRATEGY, "set `auth.strategy` instead"),
    (key::APP_ID, "set `auth.app_id` instead"),
    (key::APP_KEY, "set `auth.app_key` instead"),
    (key::AUTHORITY, "set `auth.tenant_id` instead"),
    (key::KEY_CONVERTER, "set `converters.key` instead"),
    (key::VALUE_CONVERTER, "set `converters.value` instead"),
];

/// Mapping transformations every mapping kind takes.
const TRANSFORMS_ANY: &[&str] = &["SourceLocation", "SourceLineNumber"];
/// Unix-time transformations (all kinds but w3clogfile).
const TRANSFORMS_DATETIME: &[&str] = &[
    "DateTimeFromUnixSeconds",
    "DateTimeFromUnixMilliseconds",
    "DateTimeFromUnixMicroseconds",
    "DateTimeFromUnixNanoseconds",
];
/// Transformations of structured data (json, parquet, avro, orc).
const TRANSFORMS_STRUCTURED: &[&str] = &["PropertyBagArrayToDictionary", "DropMappedFields"];
/// The transformation only avro mappings take.
const TRANSFORM_AVRO_ONLY: &str = "BytesAsBase64";

/// Every mapping transformation Kusto knows, whatever the mapping kind: the editor schema
/// offers these, and `validate` also checks each against its mapping's kind.
pub fn transforms() -> impl Iterator<Item = &'static str> {
    TRANSFORMS_ANY
        .iter()
        .chain(TRANSFORMS_DATETIME)
        .chain(TRANSFORMS_STRUCTURED)
        .copied()
        .chain([TRANSFORM_AVRO_ONLY])
}

/// Runs every semantic rule over a structurally valid stack.
pub fn validate(m: &Manifests) -> Vec<Diagnostic> {
    let mut v = Validator {
        m,
        out: Vec::new(),
        tables: HashMap::new(),
    };
    let mut tables: HashMap<String, HashMap<&str, &TableDoc>> = HashMap::new();
    for t in &m.tables {
        tables
            .entry(v.table_db(t))
            .or_default()
            .entry(t.name.value.as_str())
            .or_insert(t);
    }
    v.tables = tables;
    v.stack();
    v.databases();
    v.tables();
    v.functions();
    v.materialized_views();
    v.topics();
    v.sinks();
    v.out
}

struct Validator<'a> {
    m: &'a Manifests,
    out: Vec<Diagnostic>,
    /// Tables by database (as [`Validator::table_db`] gives it) and name, the first declared of
    /// duplicates: routes and functions find their table here, not by scanning every table.
    tables: HashMap<String, HashMap<&'a str, &'a TableDoc>>,
}

impl<'a> Validator<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    fn at_or(&self, loc: Loc, fallback: Loc) -> Loc {
        if loc.line == 0 { fallback } else { loc }
    }

    fn where_(&self, loc: Loc) -> String {
        match self.m.sources.path(loc.file) {
            Some(p) => format!("{}:{}:{}", p.display(), loc.line, loc.column),
            None => "elsewhere".into(),
        }
    }

    fn duplicates<T>(
        &mut self,
        what: &str,
        items: &[T],
        key: impl Fn(&T) -> String,
        loc: impl Fn(&T) -> Loc,
    ) {
        for (name, group) in group_by(items.iter(), &key) {
            if let Some((first, rest)) = group.split_first() {
                for dup in rest {
                    let first_at = self.where_(loc(first));
                    self.push(
                        Diagnostic::at(loc(dup), format!("duplicate {what} `{name}`")).hint(
                            format!("it is already declared at {first_at}; remove or rename one"),
                        ),
                    );
                }
            }
        }
    }

    fn kusto_name(&mut self, what: &str, name: &Located<String>) {
        if let Err(reason) = check_kusto_name(name) {
            self.push(
                Diagnostic::at(
                    name.loc,
                    format!("invalid {what} name `{}`: {reason}", name.value),
                )
                .hint(
                    "Kusto names use letters, digits, '_', ' ', '.', '-' (at most 1024 characters)",
                ),
            );
        }
    }

    /// `renamed_from` of a table, column or function (`kind`; `what` names it in messages):
    /// a valid Kusto name, not the object's own, not a name still declared in the same scope
    /// (`declared`: the rename replaces that object, and the plan would rename it away), and
    /// claimed by no earlier `renamed_from` of the scope (`claims`, in document order, this one
    /// included: an object moves to one place only).
    fn renamed_from<'n>(
        &mut self,
        (kind, what): (&str, &str),
        name: &Located<String>,
        old: Option<&Located<String>>,
        mut declared: impl Iterator<Item = &'n Located<String>>,
        claims: impl Iterator<Item = &'n Located<String>>,
    ) {
        let Some(old) = old else {
            return;
        };
        if let Err(reason) = check_kusto_name(old) {
            self.push(
                Diagnostic::at(
                    old.loc,
                    format!("invalid name `{}` in `renamed_from`: {reason}", old.value),
                )
                .hint("set it to the object's previous name"),
            );
        } else if old.value == name.value {
            self.push(
                Diagnostic::at(old.loc, format!("{what} is renamed from itself"))
                    .hint("remove `renamed_from`, or set it to the previous name"),
            );
        } else if let Some(other) = declared.find(|o| o.value == old.value) {
            let at = self.where_(other.loc);
            self.push(
                Diagnostic::at(
                    old.loc,
                    format!("{what} is renamed from `{}`, which is still declared", old.value),
                )
                .hint(format!(
                    "`{}` is declared at {at}; remove that declaration (the rename replaces it) or `renamed_from`",
                    old.value
                )),
            );
        } else if let Some(first) = claims
            .take_while(|c| !std::ptr::eq(*c, old))
            .find(|c| c.value == old.value)
        {
            let at = self.where_(first.loc);
            self.push(
                Diagnostic::at(old.loc, format!("{kind} `{}` is renamed twice", old.value)).hint(
                    format!("another `renamed_from` names it at {at}; an object can be renamed to one name only"),
                ),
            );
        }
    }

    fn secret(&mut self, what: &str, secret: &Located<SecretRef>, connect_placeholder_ok: bool) {
        match &secret.value {
            SecretRef::Env { env } if env.trim().is_empty() => self.push(
                Diagnostic::at(secret.loc, format!("`{what}` names an empty environment variable"))
                    .hint("write `{env: VARIABLE_NAME}`"),
            ),
            SecretRef::Env { .. } => {}
            SecretRef::Text(text) if connect_placeholder_ok && is_placeholder(text) => {}
            SecretRef::Text(text) if is_placeholder(text) => self.push(
                Diagnostic::at(secret.loc, format!("`{what}` is read by kustoplan itself, not by Kafka Connect"))
                    .hint("reference an environment variable: `{env: NAME}`"),
            ),
            SecretRef::Text(_) => self.push(
                Diagnostic::at(secret.loc, format!("literal secret in `{what}`: secrets must be references"))
                    .redacted()
                    .hint(if connect_placeholder_ok {
                        "write `{env: NAME}` or a Connect placeholder like `${file:/opt/connect/secrets.properties:appkey}`"
                    } else {
                        "write `{env: NAME}` and export the secret in that environment variable"
                    }),
            ),
        }
    }

    fn config_secrets(&mut self, map: &BTreeMap<String, Located<ConfigValue>>) {
        for (key, value) in map {
            if must_be_reference(key) && !is_placeholder(&value.0) {
                self.push(
                    Diagnostic::at(value.loc, format!("literal secret in `{key}`: secrets must be references"))
                        .redacted()
                        .hint("use a Connect config-provider placeholder like `${file:/opt/connect/secrets.properties:KEY}`"),
                );
            }
        }
    }

    fn url(&mut self, what: &str, url: &Located<String>) {
        let ok = Endpoint::of(&url.value).is_sandbox()
            || url.starts_with("https://")
            || url.starts_with("http://");
        if !ok {
            self.push(
                Diagnostic::at(
                    url.loc,
                    format!(
                        "`{what}` must be an http(s) URL or `sandbox`, found `{}`",
                        url.value
                    ),
                )
                .hint("write the full URL, e.g. `https://mycluster.westeurope.kusto.windows.net`"),
            );
        }
    }

    /// The table `name` of database `db`, if declared.
    fn table(&self, db: &str, name: &str) -> Option<&'a TableDoc> {
        self.tables.get(db)?.get(name).copied()
    }

    fn table_db(&self, t: &TableDoc) -> String {
        t.database
            .as_ref()
            .map(|d| d.value.clone())
            .or_else(|| match self.m.databases.as_slice() {
                [only] => Some(only.name.value.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_secret_keys() {
        assert!(is_placeholder("${file:/opt/s.properties:appkey}"));
        assert!(is_placeholder("${env:KUSTO_KEY}"));
        assert!(!is_placeholder("${var.x}"));
        assert!(!is_placeholder("hunter2"));
        assert!(must_be_reference("sasl.jaas.config"));
        assert!(must_be_reference("ssl.keystore.password"));
        assert!(!must_be_reference("retention.ms"));
    }
}

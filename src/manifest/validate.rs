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

    /// An Entra ID credential (`kusto.auth`, `kafka.security.auth`): the ids and the secret
    /// reference its method needs, and no secret it does not use. `fallback` is where to point
    /// when the method itself was not written.
    fn aad_auth(&mut self, auth: &AadAuth, fallback: Loc) {
        let needs_ids = matches!(
            *auth.method,
            AuthMethod::WorkloadIdentity | AuthMethod::ClientSecret
        );
        let at = self.at_or(auth.method.loc, fallback);
        if needs_ids && auth.tenant_id.is_none() {
            self.push(
                Diagnostic::at(at, "this auth method needs `tenant_id`")
                    .hint("add `tenant_id:` with the AAD tenant id"),
            );
        }
        if needs_ids && auth.client_id.is_none() {
            self.push(
                Diagnostic::at(at, "this auth method needs `client_id`")
                    .hint("add `client_id:` with the app registration's client id"),
            );
        }
        match (
            &auth.client_secret,
            *auth.method == AuthMethod::ClientSecret,
        ) {
            (Some(s), true) => self.secret("client_secret", s, false),
            (None, true) => self.push(
                Diagnostic::at(
                    at,
                    "`client_secret` auth needs `client_secret: {env: NAME}`",
                )
                .hint("add `client_secret: {env: AZURE_CLIENT_SECRET}`"),
            ),
            (Some(s), false) => self.push(
                Diagnostic::at(
                    s.loc,
                    "`client_secret` is only used with `method: client_secret`",
                )
                .hint("remove it, or set `method: client_secret`"),
            ),
            (None, false) => {}
        }
    }

    /// `targets.kafka.security`: OAUTHBEARER on a SASL protocol signs in with an Entra ID
    /// credential (`auth`) and nothing else; `auth` and `scope` are refused where no
    /// OAUTHBEARER token is used, so a manifest never looks more secure than it is.
    fn kafka_security(&mut self, kafka: &KafkaTarget) {
        let security = &kafka.security;
        if let Some(p) = &security.password {
            self.secret("password", p, false);
        }
        let sasl = matches!(
            security.protocol,
            KafkaProtocol::SaslPlaintext | KafkaProtocol::SaslSsl
        );
        let oauth = security
            .sasl_mechanism
            .as_ref()
            .filter(|m| sasl && ***m == SaslMechanism::OauthBearer);
        let signs_in = security
            .auth
            .as_ref()
            .filter(|a| *a.method != AuthMethod::None);
        let Some(mechanism) = oauth else {
            if let Some(auth) = signs_in {
                self.push(
                    Diagnostic::at(
                        self.at_or(auth.method.loc, kafka.bootstrap_servers.loc),
                        "`auth` is only used with `sasl_mechanism: OAUTHBEARER` on a SASL protocol",
                    )
                    .hint("set `protocol: sasl_ssl` and `sasl_mechanism: OAUTHBEARER`, or `method: none`"),
                );
            }
            if let Some(scope) = &security.scope {
                self.push(
                    Diagnostic::at(
                        scope.loc,
                        "`scope` is only used with `sasl_mechanism: OAUTHBEARER` on a SASL protocol",
                    )
                    .hint("remove it, or set `protocol: sasl_ssl` and `sasl_mechanism: OAUTHBEARER`"),
                );
            }
            return;
        };
        match signs_in {
            Some(auth) => self.aad_auth(auth, mechanism.loc),
            None => self.push(
                Diagnostic::at(
                    security
                        .auth
                        .as_ref()
                        .map_or(mechanism.loc, |a| self.at_or(a.method.loc, mechanism.loc)),
                    "`sasl_mechanism: OAUTHBEARER` needs `auth` with an Entra ID method",
                )
                .hint("add `auth: {method: workload_identity, tenant_id: ..., client_id: ...}` (or managed_identity, azure_cli, client_secret) under `security`"),
            ),
        }
        let user = security.username.as_ref().map(|u| ("username", u.loc));
        let password = security.password.as_ref().map(|p| ("password", p.loc));
        for (what, loc) in user.into_iter().chain(password) {
            self.push(
                Diagnostic::at(loc, format!("`{what}` is not used with OAUTHBEARER"))
                    .hint("remove it: kustoplan signs in with the Entra ID credential in `auth`"),
            );
        }
        match &security.scope {
            Some(scope) if scope.trim().is_empty() => self.push(
                Diagnostic::at(scope.loc, "`scope` is empty")
                    .hint("write the token scope, e.g. `https://mynamespace.servicebus.windows.net/.default`, or remove it"),
            ),
            Some(_) => {}
            None if !Endpoint::of(&kafka.bootstrap_servers).is_sandbox()
                && oauth_scope_for_bootstrap(&kafka.bootstrap_servers).is_none() =>
            {
                self.push(
                    Diagnostic::at(
                        kafka.bootstrap_servers.loc,
                        "cannot derive the OAUTHBEARER token scope: the first bootstrap server has no host",
                    )
                    .hint("write `host:port` servers, or set `security.scope`"),
                );
            }
            None => {}
        }
    }

    fn stack(&mut self) {
        let Some(stack) = &self.m.stack else { return };
        if !is_sink_safe_name(&stack.name) {
            self.push(
                Diagnostic::at(stack.name.loc, format!("invalid stack name `{}`", stack.name.value))
                    .hint("use letters, digits, '_', '.', '-' (the name is written into objects as an ownership marker)"),
            );
        }
        let targets = &stack.targets;
        if let Some(kusto) = &targets.kusto {
            self.url("targets.kusto.cluster", &kusto.cluster);
            if let Some(ingest) = &kusto.ingest {
                self.url("targets.kusto.ingest", ingest);
            }
            self.aad_auth(&kusto.auth, kusto.cluster.loc);
        }
        if let Some(kafka) = &targets.kafka {
            self.kafka_security(kafka);
            self.config_secrets(&kafka.properties);
        }
        for (name, connect) in &targets.connect {
            self.url(&format!("targets.connect.{name}.url"), &connect.url);
            if let Some(p) = &connect.password {
                self.secret("password", p, false);
            }
            if let Some(label) = &connect.strimzi_cluster
                && connect.managed_by != ConnectManager::Strimzi
            {
                self.push(
                    Diagnostic::at(
                        label.loc,
                        format!(
                            "targets.connect.{name}.strimzi_cluster names the KafkaConnect resource of a Strimzi-managed cluster, but this cluster is not `managed_by: strimzi`"
                        ),
                    )
                    .hint("set `managed_by: strimzi`, or remove `strimzi_cluster`"),
                );
            }
        }
    }

    /// Retention and caching: timespans Kusto accepts (retention 1s..365000d, hot 0s..365000d)
    /// and hot windows that are instants in order.
    fn data_policies(
        &mut self,
        retention: Option<&Located<RetentionSpec>>,
        caching: Option<&Located<CachingSpec>>,
    ) {
        let max = crate::model::RetentionPolicy::UNLIMITED;
        if let Some(r) = retention {
            let t = &r.soft_delete;
            match Timespan::parse(t) {
                None => self.push(
                    Diagnostic::at(
                        t.loc,
                        format!("`soft_delete` is not a timespan: `{}`", t.value),
                    )
                    .hint("write e.g. `365d`, `90d` or `30.00:00:00`"),
                ),
                Some(ts) if ts.as_millis() < 1000 || ts > max => self.push(
                    Diagnostic::at(
                        t.loc,
                        format!("`soft_delete` {ts} is outside the allowed range 1s..365000d"),
                    )
                    .hint("Kusto keeps data between 1 second and 365,000 days (1,000 years)"),
                ),
                Some(_) => {}
            }
        }
        if let Some(c) = caching {
            let t = &c.hot;
            match Timespan::parse(t) {
                None => self.push(
                    Diagnostic::at(t.loc, format!("`hot` is not a timespan: `{}`", t.value))
                        .hint("write e.g. `7d`, `31d` or `12h`"),
                ),
                Some(ts) if ts > max => self.push(
                    Diagnostic::at(
                        t.loc,
                        format!("`hot` {ts} is outside the allowed range 0s..365000d"),
                    )
                    .hint("use at most 365000d"),
                ),
                Some(_) => {}
            }
            for w in &c.hot_windows {
                let instant = |v: &Located<String>, this: &mut Self| {
                    let n = crate::model::normalize_instant(v);
                    if n.is_none() {
                        this.push(
                            Diagnostic::at(
                                v.loc,
                                format!("`{}` is not a date or UTC instant", v.value),
                            )
                            .hint("write e.g. `2026-01-01` or `2026-01-01T06:00:00Z`"),
                        );
                    }
                    n
                };
                if let (Some(from), Some(to)) = (instant(&w.from, self), instant(&w.to, self))
                    && !(crate::model::HotWindow { from, to }).is_ordered()
                {
                    self.push(
                        Diagnostic::at(
                            w.to.loc,
                            format!(
                                "hot window ends at `{}`, not after its start `{}`",
                                w.to.value, w.from.value
                            ),
                        )
                        .hint("give `to` a later instant than `from`"),
                    );
                }
            }
        }
    }

    fn batching(&mut self, batching: &Located<BatchingSpec>) {
        if let Some(t) = &batching.max_time {
            match Timespan::parse(t) {
                None => self.push(
                    Diagnostic::at(
                        t.loc,
                        format!("`max_time` is not a timespan: `{}`", t.value),
                    )
                    .hint("write e.g. `10s`, `5m` or `00:05:00`"),
                ),
                Some(ts) if ts < BATCHING_TIME_MIN || ts > BATCHING_TIME_MAX => self.push(
                    Diagnostic::at(
                        t.loc,
                        format!("`max_time` {ts} is outside the allowed range 10s..30m"),
                    )
                    .hint("Kusto accepts a batching time between 10 seconds and 30 minutes"),
                ),
                Some(_) => {}
            }
        }
        if let Some(n) = &batching.max_items
            && !(BATCHING_ITEMS.0..=BATCHING_ITEMS.1).contains(&n.value)
        {
            self.push(
                Diagnostic::at(
                    n.loc,
                    format!(
                        "`max_items` {} is outside the allowed range 1..25000",
                        n.value
                    ),
                )
                .hint("Kusto accepts between 1 and 25,000 items per batch"),
            );
        }
        if let Some(n) = &batching.max_raw_size_mb
            && !(BATCHING_SIZE_MB.0..=BATCHING_SIZE_MB.1).contains(&n.value)
        {
            self.push(
                Diagnostic::at(
                    n.loc,
                    format!(
                        "`max_raw_size_mb` {} is outside the allowed range 100..4096",
                        n.value
                    ),
                )
                .hint("Kusto accepts between 100 and 4,096 MB per batch"),
            );
        }
    }

    fn principals(&mut self, roles: &[(&'static str, &[Located<PrincipalSpec>])]) {
        for (role, list) in roles {
            let mut seen: BTreeMap<String, Loc> = BTreeMap::new();
            for p in *list {
                let ids: Vec<(&str, &String)> =
                    [("app", &p.app), ("user", &p.user), ("group", &p.group)]
                        .into_iter()
                        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
                        .collect();
                match ids.as_slice() {
                    [(_, id)] if id.trim().is_empty() => self.push(
                        Diagnostic::at(p.loc, "principal id is empty")
                            .hint("write the app id, user principal name or group id"),
                    ),
                    [(kind, id)] => {
                        let key = format!(
                            "{kind}={};{}",
                            id.to_lowercase(),
                            p.tenant.clone().unwrap_or_default().to_lowercase()
                        );
                        if let Some(first) = seen.get(&key) {
                            let first_at = self.where_(*first);
                            self.push(
                                Diagnostic::at(
                                    p.loc,
                                    format!("duplicate principal `{kind}: {id}` in role `{role}`"),
                                )
                                .hint(format!("it is already listed at {first_at}")),
                            );
                        } else {
                            seen.insert(key, p.loc);
                        }
                    }
                    _ => self.push(
                        Diagnostic::at(
                            p.loc,
                            "a principal needs exactly one of `app`, `user`, `group`",
                        )
                        .hint("e.g. `{app: <client id>, tenant: <tenant id>, notes: 'AAD App'}`"),
                    ),
                }
            }
        }
    }

    fn databases(&mut self) {
        let dbs = &self.m.databases;
        self.duplicates("database", dbs, |d| d.name.value.clone(), |d| d.name.loc);
        for db in dbs {
            self.kusto_name("database", &db.name);
            if let Some(b) = &db.ingestion_batching {
                self.batching(b);
            }
            self.data_policies(db.retention.as_ref(), db.caching.as_ref());
            self.principals(&db.principals.roles());
        }
    }

    /// The database a table or route belongs to: its own, or the only one declared.
    fn database_of(
        &mut self,
        explicit: &Option<Located<String>>,
        at: Loc,
        what: &str,
    ) -> Option<String> {
        match explicit {
            Some(db) => {
                if self.m.databases.iter().any(|d| d.name.value == db.value) {
                    Some(db.value.clone())
                } else if self.m.is_broken("Database", &db.value) {
                    None
                } else {
                    let known: Vec<&str> =
                        self.m.databases.iter().map(|d| d.name.as_str()).collect();
                    let d = Diagnostic::at(
                        db.loc,
                        format!("{what} refers to undeclared database `{}`", db.value),
                    );
                    self.push(
                        match super::schema::closest(&db.value, known.iter().copied()) {
                            Some(best) => d.hint(format!("did you mean `{best}`?")),
                            None => d.hint("declare it with a `kind: Database` document"),
                        },
                    );
                    None
                }
            }
            None => match self.m.databases.as_slice() {
                [only] => Some(only.name.value.clone()),
                [] => {
                    self.push(
                        Diagnostic::at(
                            at,
                            format!("{what} has no database and the stack declares none"),
                        )
                        .hint("add a `kind: Database` document"),
                    );
                    None
                }
                _ => {
                    self.push(
                        Diagnostic::at(
                            at,
                            format!("{what} must name its `database`: the stack declares several"),
                        )
                        .hint("add `database: <name>`"),
                    );
                    None
                }
            },
        }
    }

    fn tables(&mut self) {
        let tables = &self.m.tables;
        let keyed: Vec<(String, &TableDoc)> = tables
            .iter()
            .map(|t| {
                let db = self.m.database_or_default(t.database.as_ref());
                (db, t)
            })
            .collect();
        self.duplicates(
            "table",
            &keyed,
            |(db, t)| format!("{db}.{}", t.name.value),
            |(_, t)| t.name.loc,
        );
        for t in tables {
            self.database_of(
                &t.database,
                t.name.loc,
                &format!("table `{}`", t.name.value),
            );
            self.kusto_name("table", &t.name);
            if crate::kusto::lease::is_lease_table(&t.name.value) {
                self.push(
                    Diagnostic::at(
                        t.name.loc,
                        format!("table name `{}` is reserved", t.name.value),
                    )
                    .hint(format!(
                        "names starting with `{}` are kustoplan's apply lease tables, which plans ignore; rename the table",
                        crate::kusto::lease::PREFIX
                    )),
                );
            }
            self.table_columns(t);
            let m = self.m;
            let db = m.database_or_default(t.database.as_ref());
            let in_db = |d: &Option<Located<String>>| m.database_or_default(d.as_ref()) == db;
            self.renamed_from(
                ("table", &format!("table `{}`", t.name.value)),
                &t.name,
                t.renamed_from.as_ref(),
                tables
                    .iter()
                    .filter(|o| in_db(&o.database))
                    .map(|o| &o.name)
                    .chain(
                        m.functions
                            .iter()
                            .filter(|f| in_db(&f.database))
                            .map(|f| &f.name),
                    ),
                tables
                    .iter()
                    .filter(|o| in_db(&o.database))
                    .filter_map(|o| o.renamed_from.as_ref()),
            );
            self.duplicates(
                "mapping",
                &t.mappings,
                |m| format!("{} ({})", m.name.value, m.kind.to_lowercase()),
                |m| m.name.loc,
            );
            for mapping in &t.mappings {
                self.mapping(t, mapping);
            }
            if let Some(b) = &t.ingestion_batching {
                self.batching(b);
            }
            self.data_policies(t.retention.as_ref(), t.caching.as_ref());
            if let Some(list) = &t.update_policies {
                self.update_policies(t, list);
            }
            self.principals(&t.principals.roles());
        }
    }

    /// A table's update policy entries: a valid source name other than the table itself (a
    /// table feeding itself is a cycle), a query, an identity the service takes (`system` or
    /// an object id), and no entry twice. Whether the source exists and whether the tables'
    /// policies form a cycle is checked at plan time, against the live tables too.
    fn update_policies(&mut self, t: &TableDoc, list: &[UpdatePolicySpec]) {
        for (i, p) in list.iter().enumerate() {
            self.kusto_name("update policy source", &p.source);
            if p.source.value == t.name.value {
                self.push(
                    Diagnostic::at(
                        p.source.loc,
                        format!(
                            "the update policy of `{}` has the table itself as its source",
                            t.name.value
                        ),
                    )
                    .hint("a table cannot feed itself (a cycle); name another table as `source`"),
                );
            }
            if p.query.trim().is_empty() {
                self.push(
                    Diagnostic::at(p.query.loc, "the update policy's `query` is empty")
                        .hint("write a query over the source table, or a function call such as `ParseRaw()`"),
                );
            }
            if let Some(identity) = &p.managed_identity
                && !identity.value.eq_ignore_ascii_case("system")
                && !crate::model::is_guid(identity.value.trim())
            {
                self.push(
                    Diagnostic::at(
                        identity.loc,
                        format!(
                            "`managed_identity` `{}` is neither `system` nor an object id",
                            identity.value
                        ),
                    )
                    .hint("write `system` or the managed identity's object id (a GUID)"),
                );
            }
            let normalised = crate::model::function::normalize_body(&p.query);
            if let Some(first) = list[..i].iter().find(|q| {
                q.source.value == p.source.value
                    && crate::model::function::normalize_body(&q.query) == normalised
            }) {
                let first_at = self.where_(first.source.loc);
                self.push(
                    Diagnostic::at(
                        p.source.loc,
                        format!(
                            "duplicate update policy entry from `{}` with the same query",
                            p.source.value
                        ),
                    )
                    .hint(format!("it is already declared at {first_at}; remove one")),
                );
            }
        }
    }

    /// Function documents: unique per database, valid names that no declared table of the
    /// database takes, scalar parameters with plain names and known types, and a body that is
    /// one brace-balanced block.
    fn functions(&mut self) {
        let functions = &self.m.functions;
        let db_of = |f: &FunctionDoc| self.m.database_or_default(f.database.as_ref());
        let keyed: Vec<(String, &FunctionDoc)> = functions.iter().map(|f| (db_of(f), f)).collect();
        self.duplicates(
            "function",
            &keyed,
            |(db, f)| format!("{db}.{}", f.name.value),
            |(_, f)| f.name.loc,
        );
        for (db, f) in &keyed {
            self.database_of(
                &f.database,
                f.name.loc,
                &format!("function `{}`", f.name.value),
            );
            self.kusto_name("function", &f.name);
            if let Some(t) = self.table(db, &f.name.value) {
                let table_at = self.where_(t.name.loc);
                self.push(
                    Diagnostic::at(
                        f.name.loc,
                        format!("function `{}` has the name of a table", f.name.value),
                    )
                    .hint(format!(
                        "the table is declared at {table_at}; a database cannot hold a table and a function of the same name"
                    )),
                );
            }
            self.duplicates(
                "parameter",
                &f.parameters,
                |p| p.name.value.clone(),
                |p| p.name.loc,
            );
            for p in &f.parameters {
                self.parameter(p);
            }
            let m = self.m;
            let same_db = |d: &Option<Located<String>>| m.database_or_default(d.as_ref()) == *db;
            self.renamed_from(
                ("function", &format!("function `{}`", f.name.value)),
                &f.name,
                f.renamed_from.as_ref(),
                functions
                    .iter()
                    .filter(|o| same_db(&o.database))
                    .map(|o| &o.name)
                    .chain(
                        m.tables
                            .iter()
                            .filter(|t| same_db(&t.database))
                            .map(|t| &t.name),
                    ),
                functions
                    .iter()
                    .filter(|o| same_db(&o.database))
                    .filter_map(|o| o.renamed_from.as_ref()),
            );
            if let Err(why) = check_body(&f.body) {
                self.push(
                    Diagnostic::at(
                        f.body.loc,
                        format!("invalid body of function `{}`: {why}", f.name.value),
                    )
                    .hint("write the body without its surrounding braces; every `{`, `(` quote and block must be closed inside it"),
                );
            }
        }
    }

    /// MaterializedView documents: unique per database, valid names that no declared table or
    /// function of the database takes, a valid source name that is not the view itself, a
    /// query that is one brace-balanced block, and a lookback that is a timespan. Whether the
    /// source exists is a plan check (it may be a live table no manifest declares).
    fn materialized_views(&mut self) {
        let m = self.m;
        let views = &m.materialized_views;
        let db_of = |v: &MaterializedViewDoc| m.database_or_default(v.database.as_ref());
        let keyed: Vec<(String, &MaterializedViewDoc)> =
            views.iter().map(|v| (db_of(v), v)).collect();
        self.duplicates(
            "materialized view",
            &keyed,
            |(db, v)| format!("{db}.{}", v.name.value),
            |(_, v)| v.name.loc,
        );
        // Table and function names by database, tables first: what a view's name may clash with.
        let mut taken: HashMap<String, HashMap<&str, (&str, &Located<String>)>> = HashMap::new();
        let named = m
            .tables
            .iter()
            .map(|t| ("table", &t.database, &t.name))
            .chain(
                m.functions
                    .iter()
                    .map(|f| ("function", &f.database, &f.name)),
            );
        for (kind, database, name) in named {
            taken
                .entry(m.database_or_default(database.as_ref()))
                .or_default()
                .entry(name.value.as_str())
                .or_insert((kind, name));
        }
        for (db, v) in &keyed {
            let what = format!("materialized view `{}`", v.name.value);
            self.database_of(&v.database, v.name.loc, &what);
            self.kusto_name("materialized view", &v.name);
            let same_db = |d: &Option<Located<String>>| m.database_or_default(d.as_ref()) == *db;
            let clash = taken
                .get(db.as_str())
                .and_then(|names| names.get(v.name.value.as_str()))
                .copied();
            if let Some((kind, other)) = clash {
                let at = self.where_(other.loc);
                self.push(
                    Diagnostic::at(v.name.loc, format!("{what} has the name of a {kind}")).hint(
                        format!(
                            "the {kind} is declared at {at}; a database cannot hold a materialized view and a {kind} of the same name"
                        ),
                    ),
                );
            }
            if let Err(reason) = check_kusto_name(&v.source) {
                self.push(
                    Diagnostic::at(
                        v.source.loc,
                        format!("invalid source `{}` of {what}: {reason}", v.source.value),
                    )
                    .hint("name a table or materialized view of the same database"),
                );
            } else if v.source.value == v.name.value {
                self.push(
                    Diagnostic::at(v.source.loc, format!("{what} reads from itself"))
                        .hint("name a table or another materialized view as its source"),
                );
            }
            if let Err(why) = check_body(&v.query) {
                self.push(
                    Diagnostic::at(v.query.loc, format!("invalid query of {what}: {why}")).hint(
                        "write the query without surrounding braces, e.g. `T | summarize arg_max(Timestamp, *) by Id`",
                    ),
                );
            }
            if let Some(lookback) = &v.lookback
                && Timespan::parse(lookback).is_none_or(|t| t.as_millis() == 0)
            {
                self.push(
                    Diagnostic::at(
                        lookback.loc,
                        format!("invalid lookback `{}` of {what}", lookback.value),
                    )
                    .hint("write a positive timespan such as `6h` or `1d`"),
                );
            }
            self.renamed_from(
                ("materialized view", &what),
                &v.name,
                v.renamed_from.as_ref(),
                views
                    .iter()
                    .filter(|o| same_db(&o.database))
                    .map(|o| &o.name),
                views
                    .iter()
                    .filter(|o| same_db(&o.database))
                    .filter_map(|o| o.renamed_from.as_ref()),
            );
        }
    }

    fn parameter(&mut self, p: &ParameterSpec) {
        let name = &p.name.value;
        let mut chars = name.chars();
        let plain = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            self.push(
                Diagnostic::at(p.name.loc, format!("invalid parameter name `{name}`")).hint(
                    "parameter names use letters, digits and '_', and do not start with a digit",
                ),
            );
        }
        if ColumnType::parse(&p.ty).is_none() {
            let names: Vec<&str> = ColumnType::ALL.iter().map(|t| t.as_kql()).collect();
            let d = Diagnostic::at(p.ty.loc, format!("unknown parameter type `{}`", p.ty.value));
            self.push(if p.ty.trim_start().starts_with('(') {
                d.hint("tabular parameters are not supported; use scalar parameters")
            } else {
                match super::schema::closest(&p.ty, names.iter().copied()) {
                    Some(best) => d.hint(format!("did you mean `{best}`?")),
                    None => d.hint(format!("use one of {}", names.join(", "))),
                }
            });
        }
    }

    fn table_columns(&mut self, t: &TableDoc) {
        if t.columns.is_empty() {
            self.push(
                Diagnostic::at(
                    t.name.loc,
                    format!("table `{}` has no columns", t.name.value),
                )
                .hint("list at least one column under `columns:`"),
            );
        }
        self.duplicates(
            "column",
            &t.columns,
            |c| c.name.value.clone(),
            |c| c.name.loc,
        );
        for c in &t.columns {
            self.renamed_from(
                (
                    "column",
                    &format!("column `{}` of table `{}`", c.name.value, t.name.value),
                ),
                &c.name,
                c.renamed_from.as_ref(),
                t.columns.iter().map(|o| &o.name),
                t.columns.iter().filter_map(|o| o.renamed_from.as_ref()),
            );
            self.kusto_name("column", &c.name);
            if ColumnType::parse(&c.ty).is_none() {
                let names: Vec<&str> = ColumnType::ALL.iter().map(|t| t.as_kql()).collect();
                let d = Diagnostic::at(c.ty.loc, format!("unknown column type `{}`", c.ty.value));
                self.push(match super::schema::closest(&c.ty, names.iter().copied()) {
                    Some(best) => d.hint(format!("did you mean `{best}`?")),
                    None => d.hint(format!("use one of {}", names.join(", "))),
                });
            }
        }
    }

    fn mapping(&mut self, t: &TableDoc, m: &MappingSpec) {
        self.kusto_name("mapping", &m.name);
        let Some(kind) = MappingKind::parse(&m.kind) else {
            let names: Vec<&str> = MappingKind::ALL.iter().map(|k| k.as_kql()).collect();
            self.push(
                Diagnostic::at(
                    m.kind.loc,
                    format!("unknown mapping kind `{}`", m.kind.value),
                )
                .hint(format!("use one of {}", names.join(", "))),
            );
            return;
        };
        if m.columns.is_empty() {
            self.push(
                Diagnostic::at(
                    m.name.loc,
                    format!("mapping `{}` maps no columns", m.name.value),
                )
                .hint("list the mapped columns under `columns:`"),
            );
        }
        for mc in &m.columns {
            let column = t.columns.iter().find(|c| c.name.value == mc.column.value);
            match column {
                None => {
                    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                    let d = Diagnostic::at(
                        mc.column.loc,
                        format!(
                            "mapping `{}` maps `{}`, which is not a column of table `{}`",
                            m.name.value, mc.column.value, t.name.value
                        ),
                    );
                    self.push(
                        match super::schema::closest(&mc.column, names.iter().copied()) {
                            Some(best) => d.hint(format!("did you mean `{best}`?")),
                            None => {
                                d.hint("add the column to the table, or remove it from the mapping")
                            }
                        },
                    );
                }
                Some(col) => {
                    if let (Some(dt), Some(col_ty)) = (&mc.datatype, ColumnType::parse(&col.ty)) {
                        match ColumnType::parse(dt) {
                            None => self.push(
                                Diagnostic::at(dt.loc, format!("unknown datatype `{}`", dt.value))
                                    .hint(format!("the column is `{col_ty}`; write that or drop `datatype`")),
                            ),
                            Some(t2) if t2 != col_ty => self.push(
                                Diagnostic::at(dt.loc, format!("datatype `{}` does not match column `{}` of type `{col_ty}`", dt.value, col.name.value))
                                    .hint(format!("write `datatype: {col_ty}` or drop `datatype`")),
                            ),
                            Some(_) => {}
                        }
                    }
                }
            }
            let source = mc.path.is_some()
                || mc.const_value.is_some()
                || mc.transform.is_some()
                || mc.ordinal.is_some();
            if !source {
                self.push(
                    Diagnostic::at(
                        mc.column.loc,
                        format!("mapped column `{}` has no source", mc.column.value),
                    )
                    .hint(if kind == MappingKind::Csv {
                        "add `ordinal:` (or `const_value:`)"
                    } else {
                        "add `path:` such as `$.field` (or `const_value:`)"
                    }),
                );
            }
            if let Some(p) = &mc.path {
                if kind == MappingKind::Csv {
                    self.push(
                        Diagnostic::at(
                            p.loc,
                            "csv mappings locate fields by `ordinal`, not `path`",
                        )
                        .hint("replace `path:` with `ordinal: <field index>`"),
                    );
                } else if !p.starts_with('$') {
                    self.push(
                        Diagnostic::at(
                            p.loc,
                            format!(
                                "`path` must be a JSON path starting with `$`, found `{}`",
                                p.value
                            ),
                        )
                        .hint("write e.g. `$.playerId`; use `const_value` for constants"),
                    );
                }
            }
            if let Some(o) = &mc.ordinal
                && kind != MappingKind::Csv
            {
                self.push(
                    Diagnostic::at(
                        o.loc,
                        format!("{kind} mappings locate fields by `path`, not `ordinal`"),
                    )
                    .hint("replace `ordinal:` with `path: $.field`"),
                );
            }
            if let Some(tr) = &mc.transform {
                self.transform(kind, tr);
            }
        }
    }

    fn transform(&mut self, kind: MappingKind, tr: &Located<String>) {
        let known: Vec<&str> = transforms().collect();
        if !known.contains(&tr.as_str()) {
            let d = Diagnostic::at(tr.loc, format!("unknown transform `{}`", tr.value));
            self.push(match super::schema::closest(tr, known.iter().copied()) {
                Some(best) => d.hint(format!("did you mean `{best}`?")),
                None => d.hint(format!("use one of {}", known.join(", "))),
            });
            return;
        }
        let allowed = match tr.as_str() {
            TRANSFORM_AVRO_ONLY => kind == MappingKind::Avro,
            t if TRANSFORMS_STRUCTURED.contains(&t) => matches!(
                kind,
                MappingKind::Json | MappingKind::Parquet | MappingKind::Avro | MappingKind::Orc
            ),
            t if TRANSFORMS_DATETIME.contains(&t) => kind != MappingKind::W3cLogFile,
            _ => true,
        };
        if !allowed {
            self.push(
                Diagnostic::at(
                    tr.loc,
                    format!(
                        "transform `{}` is not available for {kind} mappings",
                        tr.value
                    ),
                )
                .hint("see the Kusto docs on mapping transformations for which kinds support it"),
            );
        }
    }

    fn topics(&mut self) {
        let topics = &self.m.topics;
        self.duplicates("topic", topics, |t| t.name.value.clone(), |t| t.name.loc);
        for t in topics {
            if let Err(reason) = check_kafka_topic_name(&t.name) {
                self.push(
                    Diagnostic::at(
                        t.name.loc,
                        format!("invalid topic name `{}`: {reason}", t.name.value),
                    )
                    .hint("Kafka topic names use ASCII letters, digits, '.', '_', '-'"),
                );
            }
            if t.partitions.value == 0 {
                self.push(
                    Diagnostic::at(t.partitions.loc, "a topic needs at least 1 partition")
                        .hint("set `partitions:` to 1 or more"),
                );
            }
            if let Some(rf) = &t.replication_factor
                && rf.value == 0
            {
                self.push(
                    Diagnostic::at(rf.loc, "`replication_factor` must be at least 1")
                        .hint("set it to 1 or more, or omit it for the broker default"),
                );
            }
        }
    }

    fn sinks(&mut self) {
        let sinks = &self.m.sinks;
        self.duplicates("sink", sinks, |s| s.name.value.clone(), |s| s.name.loc);
        let mut routed: BTreeMap<String, Loc> = BTreeMap::new();
        for s in sinks {
            self.sink(s, &mut routed);
        }
        self.renames(sinks);
    }

    /// `renamed_from`: a different, valid name that no declared sink still has and that only
    /// one sink claims (a connector moves to one place).
    fn renames(&mut self, sinks: &[SinkDoc]) {
        let mut claimed: BTreeMap<&str, Loc> = BTreeMap::new();
        for s in sinks {
            let Some(old) = &s.renamed_from else {
                continue;
            };
            if old.trim().is_empty() || old.chars().any(char::is_control) {
                self.push(
                    Diagnostic::at(old.loc, "invalid connector name in `renamed_from`").hint(
                        "use the previous connector name, non-empty, without control characters",
                    ),
                );
            } else if old.value == s.name.value {
                self.push(
                    Diagnostic::at(
                        old.loc,
                        format!("sink `{}` is renamed from itself", s.name.value),
                    )
                    .hint("remove `renamed_from`, or set it to the connector's previous name"),
                );
            } else if let Some(other) = sinks.iter().find(|o| o.name.value == old.value) {
                let at = self.where_(other.name.loc);
                self.push(
                    Diagnostic::at(old.loc, format!("sink `{}` is renamed from `{}`, which is still declared", s.name.value, old.value))
                        .hint(format!("`{}` is declared at {at}; remove that document (the rename replaces it) or `renamed_from`", old.value)),
                );
            } else if let Some(first) = claimed.get(old.value.as_str()) {
                let at = self.where_(*first);
                self.push(
                    Diagnostic::at(old.loc, format!("connector `{}` is renamed twice", old.value))
                        .hint(format!("another sink is renamed from it at {at}; a connector's offsets can move to one connector only")),
                );
            } else {
                claimed.insert(&old.value, old.loc);
            }
        }
    }

    fn sink(&mut self, s: &SinkDoc, routed: &mut BTreeMap<String, Loc>) {
        if s.name.trim().is_empty() || s.name.chars().any(char::is_control) {
            self.push(
                Diagnostic::at(s.name.loc, "invalid connector name")
                    .hint("use a non-empty name without control characters"),
            );
        }
        let connect = self.m.stack.as_ref().map(|st| &st.targets.connect);
        match (&s.connect, connect) {
            (Some(c), Some(targets)) if !targets.contains_key(&c.value) => {
                let known: Vec<&str> = targets.keys().map(String::as_str).collect();
                self.push(
                    Diagnostic::at(
                        c.loc,
                        format!(
                            "sink `{}` uses undeclared Connect cluster `{}`",
                            s.name.value, c.value
                        ),
                    )
                    .hint(if known.is_empty() {
                        "declare it under `targets.connect` of the Stack document".to_string()
                    } else {
                        format!("declared Connect clusters: {}", known.join(", "))
                    }),
                );
            }
            (Some(c), None) => self.push(
                Diagnostic::at(
                    c.loc,
                    format!(
                        "sink `{}` uses Connect cluster `{}` but the stack declares no targets",
                        s.name.value, c.value
                    ),
                )
                .hint("declare it under `targets.connect` of a `kind: Stack` document"),
            ),
            (None, Some(targets)) if targets.len() > 1 => self.push(
                Diagnostic::at(
                    s.name.loc,
                    format!(
                        "sink `{}` must name its `connect` cluster: the stack declares several",
                        s.name.value
                    ),
                )
                .hint("add `connect: <name>`"),
            ),
            _ => {}
        }
        if s.tasks_max.value == 0 {
            self.push(
                Diagnostic::at(
                    self.at_or(s.tasks_max.loc, s.name.loc),
                    "`tasks_max` must be at least 1",
                )
                .hint("set `tasks_max: 1` or more (at most the partition count is useful)"),
            );
        }
        self.sink_auth(s);
        self.config_secrets(&s.config);
        for (key, value) in &s.config {
            if let Some((_, instead)) = DERIVED_KEYS.iter().find(|(k, _)| k == key) {
                self.push(
                    Diagnostic::at(
                        value.loc,
                        format!("`{key}` is derived by kustoplan and cannot be set in `config`"),
                    )
                    .hint(format!("remove it: {instead}")),
                );
            }
        }
        for conv in [&s.converters.key, &s.converters.value] {
            let c = conv.class.as_str();
            if !matches!(c, "json" | "string" | "bytearray" | "avro") && !c.contains('.') {
                self.push(
                    Diagnostic::at(conv.class.loc, format!("unknown converter `{c}`"))
                        .hint("use json, string, bytearray, avro or a fully qualified class name"),
                );
            }
            self.config_secrets(&conv.properties);
        }
        if let Some(dlq) = &s.errors.dead_letter_queue {
            if let Err(reason) = check_kafka_topic_name(&dlq.topic) {
                self.push(
                    Diagnostic::at(
                        dlq.topic.loc,
                        format!("invalid dead-letter topic `{}`: {reason}", dlq.topic.value),
                    )
                    .hint("use a valid Kafka topic name"),
                );
            }
            if s.errors.tolerance == crate::model::sink::Tolerance::None {
                self.push(
                    Diagnostic::at(dlq.topic.loc, "a dead-letter queue needs `tolerance: all`")
                        .hint("with `tolerance: none` Connect fails the task instead of using the queue"),
                );
            }
        }
        for (what, value) in [
            ("size_bytes", &s.flush.size_bytes),
            ("interval_ms", &s.flush.interval_ms),
        ] {
            if let Some(v) = value
                && v.value < FLUSH_MIN
            {
                self.push(
                    Diagnostic::at(
                        v.loc,
                        format!(
                            "`flush.{what}` must be at least {FLUSH_MIN}, found {}",
                            v.value
                        ),
                    )
                    .hint(format!("the sink rejects values below {FLUSH_MIN}")),
                );
            }
        }
        if s.routes.is_empty() {
            self.push(
                Diagnostic::at(s.name.loc, format!("sink `{}` has no routes", s.name.value))
                    .hint("add at least one route under `routes:`"),
            );
        }
        for r in &s.routes {
            if let Err(reason) = check_kafka_topic_name(&r.topic) {
                self.push(
                    Diagnostic::at(
                        r.topic.loc,
                        format!("invalid topic name `{}`: {reason}", r.topic.value),
                    )
                    .hint("Kafka topic names use ASCII letters, digits, '.', '_', '-'"),
                );
            }
            match routed.get(&r.topic.value) {
                Some(first) => {
                    let first_at = self.where_(*first);
                    self.push(
                        Diagnostic::at(
                            r.topic.loc,
                            format!("topic `{}` is routed twice", r.topic.value),
                        )
                        .hint(format!(
                            "it is already routed at {first_at}; a topic feeds one table"
                        )),
                    );
                }
                None => {
                    routed.insert(r.topic.value.clone(), r.topic.loc);
                }
            }
            let format = DataFormat::parse(&r.format);
            if format.is_none() {
                let names: Vec<&str> = DataFormat::names().collect();
                let d = Diagnostic::at(
                    r.format.loc,
                    format!("unknown data format `{}`", r.format.value),
                );
                self.push(
                    match super::schema::closest(&r.format, names.iter().copied()) {
                        Some(best) => d.hint(format!("did you mean `{best}`?")),
                        None => d.hint(format!("use one of {}", names.join(", "))),
                    },
                );
            }
            let what = format!("route of topic `{}`", r.topic.value);
            let Some(db) = self.database_of(&r.database, r.table.loc, &what) else {
                continue;
            };
            for (label, name) in [
                Some(("database", r.database.as_ref())),
                Some(("table", Some(&r.table))),
                Some(("mapping", r.mapping.as_ref())),
            ]
            .into_iter()
            .flatten()
            {
                if let Some(name) = name
                    && !is_sink_safe_name(name)
                {
                    self.push(
                        Diagnostic::at(name.loc, format!("{label} name `{}` cannot be used in a sink route", name.value))
                            .hint("the Kusto sink only accepts names matching ^[A-Za-z0-9_.-]+$; rename the object"),
                    );
                }
            }
            let Some(table) = self.table(&db, &r.table.value) else {
                if self.m.is_broken("Table", &r.table.value) {
                    continue;
                }
                let known: Vec<&str> = self.m.tables.iter().map(|t| t.name.as_str()).collect();
                let d = Diagnostic::at(
                    r.table.loc,
                    format!("route to undeclared table `{db}.{}`", r.table.value),
                );
                self.push(
                    match super::schema::closest(&r.table, known.iter().copied()) {
                        Some(best) => d.hint(format!("did you mean `{best}`?")),
                        None => d.hint("declare the table with a `kind: Table` document"),
                    },
                );
                continue;
            };
            if let Some(mapping) = &r.mapping {
                match table
                    .mappings
                    .iter()
                    .find(|m| m.name.value == mapping.value)
                {
                    None => {
                        let known: Vec<&str> =
                            table.mappings.iter().map(|m| m.name.as_str()).collect();
                        let d = Diagnostic::at(
                            mapping.loc,
                            format!(
                                "route uses undeclared mapping `{}` of table `{}`",
                                mapping.value, table.name.value
                            ),
                        );
                        self.push(
                            match super::schema::closest(mapping, known.iter().copied()) {
                                Some(best) => d.hint(format!("did you mean `{best}`?")),
                                None => d.hint("declare it under `mappings:` of the table"),
                            },
                        );
                    }
                    Some(m) => {
                        if let (Some(f), Some(kind)) = (format, MappingKind::parse(&m.kind))
                            && f.mapping_kind() != kind
                        {
                            self.push(
                                Diagnostic::at(mapping.loc, format!("mapping `{}` is of kind {kind} but format `{}` needs kind {}", m.name.value, f.name(), f.mapping_kind()))
                                    .hint(format!("use a mapping of kind {}, or change the route's format", f.mapping_kind())),
                            );
                        }
                    }
                }
            }
            if r.streaming.value {
                let db_doc = self.m.databases.iter().find(|d| d.name.value == db);
                let enabled = table
                    .streaming_ingestion
                    .as_ref()
                    .map(|l| l.value)
                    .or_else(|| {
                        db_doc.and_then(|d| d.streaming_ingestion.as_ref().map(|l| l.value))
                    })
                    .unwrap_or(false);
                if !enabled {
                    self.push(
                        Diagnostic::at(self.at_or(r.streaming.loc, r.topic.loc), format!("streaming route to `{}` but streaming ingestion is not enabled", table.name.value))
                            .hint("set `streaming_ingestion: true` on the table or its database, or `streaming: false`"),
                    );
                }
                if let Some(size) = &s.flush.size_bytes
                    && size.value > STREAMING_FLUSH_MAX
                {
                    self.push(
                        Diagnostic::at(size.loc, format!("`flush.size_bytes` {} exceeds 4 MB, the limit for streaming routes", size.value))
                            .hint("use at most 4194304 bytes with streaming routes"),
                    );
                }
            }
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

    fn sink_auth(&mut self, s: &SinkDoc) {
        let auth = &s.auth;
        let at = self.at_or(auth.strategy.loc, s.name.loc);
        let need = |field: &str| {
            Diagnostic::at(
                at,
                format!(
                    "`auth.strategy: {}` needs `{field}`",
                    strategy_name(*auth.strategy)
                ),
            )
            .hint(format!("add `{field}:` under `auth`"))
        };
        match *auth.strategy {
            SinkAuthStrategy::Application => {
                if auth.app_id.is_none() {
                    self.push(need("app_id"));
                }
                if auth.tenant_id.is_none() {
                    self.push(need("tenant_id"));
                }
                if auth.app_key.is_none() {
                    self.push(need("app_key"));
                }
            }
            SinkAuthStrategy::WorkloadIdentity => {
                if auth.app_id.is_none() {
                    self.push(need("app_id"));
                }
                if auth.tenant_id.is_none() {
                    self.push(need("tenant_id"));
                }
            }
            SinkAuthStrategy::ManagedIdentity => {}
        }
        if let Some(key) = &auth.app_key {
            if *auth.strategy != SinkAuthStrategy::Application {
                self.push(
                    Diagnostic::at(
                        key.loc,
                        "`app_key` is only used with `strategy: application`",
                    )
                    .hint("remove it: identities need no key"),
                );
            }
            self.secret("app_key", key, true);
        }
    }
}

fn strategy_name(s: SinkAuthStrategy) -> &'static str {
    match s {
        SinkAuthStrategy::Application => "application",
        SinkAuthStrategy::ManagedIdentity => "managed_identity",
        SinkAuthStrategy::WorkloadIdentity => "workload_identity",
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

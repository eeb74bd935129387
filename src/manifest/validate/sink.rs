//! Rules of `KustoSink` documents: routes, renames, connector properties, the sink's auth.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn sinks(&mut self) {
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
    pub(super) fn renames(&mut self, sinks: &[SinkDoc]) {
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

    pub(super) fn sink(&mut self, s: &SinkDoc, routed: &mut BTreeMap<String, Loc>) {
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
                    match crate::manifest::schema::closest(&r.format, names.iter().copied()) {
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
                    match crate::manifest::schema::closest(&r.table, known.iter().copied()) {
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
                            match crate::manifest::schema::closest(mapping, known.iter().copied()) {
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

    pub(super) fn sink_auth(&mut self, s: &SinkDoc) {
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

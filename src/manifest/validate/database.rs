//! Rules of `Database` documents and the data policies and principals databases and tables share.

use super::*;

impl<'a> Validator<'a> {
    /// Retention and caching: timespans Kusto accepts (retention 1s..365000d, hot 0s..365000d)
    /// and hot windows that are instants in order.
    pub(super) fn data_policies(
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

    pub(super) fn batching(&mut self, batching: &Located<BatchingSpec>) {
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

    pub(super) fn principals(&mut self, roles: &[(&'static str, &[Located<PrincipalSpec>])]) {
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

    pub(super) fn databases(&mut self) {
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
    pub(super) fn database_of(
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
                        match crate::manifest::schema::closest(&db.value, known.iter().copied()) {
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
}

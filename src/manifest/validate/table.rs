//! Rules of `Table` documents: columns, mappings and their transformations, update policies.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn tables(&mut self) {
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
    pub(super) fn update_policies(&mut self, t: &TableDoc, list: &[UpdatePolicySpec]) {
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

    pub(super) fn table_columns(&mut self, t: &TableDoc) {
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
                self.push(
                    match crate::manifest::schema::closest(&c.ty, names.iter().copied()) {
                        Some(best) => d.hint(format!("did you mean `{best}`?")),
                        None => d.hint(format!("use one of {}", names.join(", "))),
                    },
                );
            }
        }
    }

    pub(super) fn mapping(&mut self, t: &TableDoc, m: &MappingSpec) {
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
                        match crate::manifest::schema::closest(&mc.column, names.iter().copied()) {
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

    pub(super) fn transform(&mut self, kind: MappingKind, tr: &Located<String>) {
        let known: Vec<&str> = transforms().collect();
        if !known.contains(&tr.as_str()) {
            let d = Diagnostic::at(tr.loc, format!("unknown transform `{}`", tr.value));
            self.push(
                match crate::manifest::schema::closest(tr, known.iter().copied()) {
                    Some(best) => d.hint(format!("did you mean `{best}`?")),
                    None => d.hint(format!("use one of {}", known.join(", "))),
                },
            );
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
}

//! Rules of `MaterializedView` documents.

use super::*;

impl<'a> Validator<'a> {
    /// MaterializedView documents: unique per database, valid names that no declared table or
    /// function of the database takes, a valid source name that is not the view itself, a
    /// query that is one brace-balanced block, and a lookback that is a timespan. Whether the
    /// source exists is a plan check (it may be a live table no manifest declares).
    pub(super) fn materialized_views(&mut self) {
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
}

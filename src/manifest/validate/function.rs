//! Rules of `Function` documents: names, parameters, bodies.

use super::*;

impl<'a> Validator<'a> {
    /// Function documents: unique per database, valid names that no declared table of the
    /// database takes, scalar parameters with plain names and known types, and a body that is
    /// one brace-balanced block.
    pub(super) fn functions(&mut self) {
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

    pub(super) fn parameter(&mut self, p: &ParameterSpec) {
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
                match crate::manifest::schema::closest(&p.ty, names.iter().copied()) {
                    Some(best) => d.hint(format!("did you mean `{best}`?")),
                    None => d.hint(format!("use one of {}", names.join(", "))),
                }
            });
        }
    }
}

//! Quoting of names and string literals: the only place that decides how text a user wrote
//! ends up inside a command, so no name or value can ever change a command's meaning.

use std::fmt::{self, Display, Formatter, Write};

/// Words that are not safe as bare names: the identifier-shaped entries of Kusto.Language's
/// `SyntaxFacts.Keywords` (query keywords and scalar type names), plus the control-command
/// words kustoplan's own commands use. Bracketing a name that did not need it is harmless,
/// so the list errs on the side of too many.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    // Kusto.Language SyntaxFacts.Keywords (identifier-shaped), @kusto/language-service-next 12.4.1.
    "__crossCluster", "__crossDB", "__id", "__isFuzzy", "__noWithSource", "__packedColumn",
    "__sourceColumnIndex", "access", "accumulate", "alias", "and", "anomalychart", "areachart",
    "as", "asc", "bagexpansion", "barchart", "between", "bin", "bin_legacy", "by",
    "cachingpolicy", "callout", "cancel", "card", "columnchart", "consume", "contains",
    "containscs", "contains_cs", "__contextual_datatable", "count", "cycles", "database",
    "dataexport", "datascope", "datatable", "declare", "decodeblocks", "default", "desc",
    "distinct", "earliest", "encodingpolicy", "endswith", "endswith_cs", "entity_group",
    "evaluate", "__executeAndCache", "expandoutput", "extend", "extent_tags_retention",
    "externaldata", "external_data", "dataformat", "inline_external_table", "datetime_pattern",
    "facet", "filter", "find", "first", "flags", "fork", "from", "getschema", "edges",
    "harddelete", "hardretention", "has", "has_any", "has_all", "has_cs", "hasprefix",
    "hasprefix_cs", "hassuffix", "hassuffix_cs", "hotcache", "id", "in", "invoke", "isfuzzy",
    "best_effort", "force_remote", "join", "journal", "kind", "ladderchart", "last", "latest",
    "let", "like", "likecs", "limit", "linechart", "lookup", "materialize", "mdm", "missing",
    "mvapply", "mvexpand", "nodes", "nooptimization", "notcontains", "notcontainscs", "notlike",
    "notlikecs", "null", "nulls", "of", "on", "optional", "or", "order", "others", "output",
    "pack", "parse", "__partitionby", "partition", "pathformat", "pattern", "piechart",
    "pivotchart", "plotly", "graph", "print", "project", "__projectAway", "queries",
    "query_parameters", "query_results", "range", "reduce", "regex", "relaxed", "render",
    "restricted_view_access", "restrict", "row_level_security", "rowstore",
    "rowstore_references", "rowstore_sealinfo", "rowstorepolicy", "rowstores", "sample", "scan",
    "scatterchart", "seal", "seals", "search", "serialize", "set", "shards", "simple",
    "softdelete", "softretention", "sort", "sql", "stackedareachart", "startswith",
    "startswith_cs", "statistics", "step", "storedqueryresultcontainers", "summarize",
    "tablepurge", "take", "timechart", "timeline", "timepivot", "title", "to", "top", "toscalar",
    "totable", "treemap", "typeof", "union", "unrestrictedviewers", "uuid", "verbose", "viewers",
    "view", "views", "where", "with_itemindex", "with", "with_match_id", "with_source",
    "with_step_name", "withsource", "with_node_id", "writeaheadlog", "bool", "boolean", "int8",
    "char", "uint8", "byte", "int16", "uint16", "int", "int32", "uint", "uint32", "long", "int64",
    "ulong", "uint64", "float", "real", "decimal", "double", "string", "time", "timespan", "date",
    "datetime", "guid", "uniqueid", "dynamic",
    // Control-command words of the commands rendered here.
    "add", "admins", "alter", "column", "columns", "create", "csl", "databases", "delete", "details",
    "docstring", "drop", "execute", "false", "folder", "function", "functions", "ifexists",
    "ingestion",
    "ingestionbatching", "ingestors", "mapping", "mappings", "monitors", "none", "policy",
    "principals", "schema", "script", "show", "skipvalidation", "streamingingestion", "table",
    "tables", "true",
    "type", "users",
];

/// Whether `name` can be written bare: `[A-Za-z_][A-Za-z0-9_]*` and not a reserved word.
fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !reserved().contains(name)
}

/// [`RESERVED`] as a set: every name in every rendered command is looked up, and a scan of the
/// list was a twentieth of the time the sandbox took to print a 10,000-table schema script.
fn reserved() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| RESERVED.iter().copied().collect());
    &SET
}

/// Writes `text` with backslash escapes for `quote`, `\` and control characters, so the
/// literal stays on one line (`.execute database script` splits commands at line starts).
/// The runs between escapes are written whole: most names and values need none, and the
/// sandbox prints every name of a 10,000-table schema script through here.
fn escape(out: &mut impl Write, text: &str, quote: char) -> fmt::Result {
    let bytes = text.as_bytes();
    let mut run = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Every character escaped is ASCII but the C1 controls (U+0080 to U+009F), which
        // UTF-8 writes as 0xC2 then 0x80 to 0x9F: no other character starts with 0xC2 0x8_/9_.
        // The escape's text, or `None` for a control written as `\uXXXX`, and its width.
        let (escaped, width) = match bytes[at] {
            b'\\' => (Some("\\\\"), 1),
            b'\n' => (Some("\\n"), 1),
            b'\r' => (Some("\\r"), 1),
            b'\t' => (Some("\\t"), 1),
            b'"' if quote == '"' => (Some("\\\""), 1),
            b'\'' if quote == '\'' => (Some("\\'"), 1),
            0x00..=0x1f | 0x7f => (None, 1),
            0xc2 if matches!(bytes.get(at + 1), Some(0x80..=0x9f)) => (None, 2),
            _ => {
                at += 1;
                continue;
            }
        };
        out.write_str(&text[run..at])?;
        match escaped {
            Some(escaped) => out.write_str(escaped)?,
            None => {
                let c = text[at..].chars().next().map_or(0, u32::from);
                write!(out, "\\u{c:04x}")?;
            }
        }
        at += width;
        run = at;
    }
    out.write_str(&text[run..])
}

/// An entity name (database, table, column) as a command takes it: bare when it is a plain
/// identifier, otherwise `['...']` with `'` and `\` escaped. Kusto resolves both to the
/// same entity, so quoting never changes which object a command touches.
pub fn name(name: &str) -> Name<'_> {
    Name(name)
}

/// [`name`], written straight into the command being printed (no text of its own).
pub struct Name<'a>(&'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_plain(self.0) {
            return f.write_str(self.0);
        }
        f.write_str("['")?;
        escape(f, self.0, '\'')?;
        f.write_str("']")
    }
}

/// A string literal: `"..."` with `"`, `\` and control characters backslash-escaped. One
/// form for every literal (docstrings, mapping names, JSON, principals, notes) keeps the
/// commands predictable to read and to check.
pub fn string(text: &str) -> Literal<'_> {
    Literal(text)
}

/// [`string`], written straight into the command being printed (no text of its own).
pub struct Literal<'a>(&'a str);

impl Display for Literal<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        escape(f, self.0, '"')?;
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("GamePlay").to_string(), "GamePlay");
        assert_eq!(name("_x1").to_string(), "_x1");
        assert_eq!(name("game db").to_string(), "['game db']");
        assert_eq!(name("a.b-c").to_string(), "['a.b-c']");
        assert_eq!(name("1st").to_string(), "['1st']");
        assert_eq!(name("table").to_string(), "['table']");
        assert_eq!(name("string").to_string(), "['string']");
        assert_eq!(name("Table").to_string(), "Table");
        assert_eq!(name("it's").to_string(), r"['it\'s']");
        assert_eq!(name(r"a\b").to_string(), r"['a\\b']");
        assert_eq!(name("Täble").to_string(), "['Täble']");
        assert_eq!(name("").to_string(), "['']");
    }

    #[test]
    fn strings() {
        assert_eq!(string("plain").to_string(), r#""plain""#);
        assert_eq!(
            string(r#"say "hi" \o/"#).to_string(),
            r#""say \"hi\" \\o/""#
        );
        assert_eq!(string("it's").to_string(), r#""it's""#);
        assert_eq!(
            string("a\nb\tc\rd\u{1}").to_string(),
            r#""a\nb\tc\rd\u0001""#
        );
        assert_eq!(string("ünïcödé ✓").to_string(), "\"ünïcödé ✓\"");
        assert_eq!(
            string("a\u{7f}b\u{85}c\u{a0}d").to_string(),
            "\"a\\u007fb\\u0085c\u{a0}d\""
        );
        assert_eq!(name("a'\u{9f}").to_string(), r"['a\'\u009f']");
    }
}

//! Quoting of names and string literals: the only place that decides how text a user wrote
//! ends up inside a command, so no name or value can ever change a command's meaning.

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

/// Appends `text` with backslash escapes for `quote`, `\` and control characters, so the
/// literal stays on one line (`.execute database script` splits commands at line starts).
fn escape_into(out: &mut String, text: &str, quote: char) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// An entity name (database, table, column) as a command takes it: bare when it is a plain
/// identifier, otherwise `['...']` with `'` and `\` escaped. Kusto resolves both to the
/// same entity, so quoting never changes which object a command touches.
pub fn name(name: &str) -> String {
    if is_plain(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 4);
    out.push_str("['");
    escape_into(&mut out, name, '\'');
    out.push_str("']");
    out
}

/// A string literal: `"..."` with `"`, `\` and control characters backslash-escaped. One
/// form for every literal (docstrings, mapping names, JSON, principals, notes) keeps the
/// commands predictable to read and to check.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(&mut out, text, '"');
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("GamePlay"), "GamePlay");
        assert_eq!(name("_x1"), "_x1");
        assert_eq!(name("game db"), "['game db']");
        assert_eq!(name("a.b-c"), "['a.b-c']");
        assert_eq!(name("1st"), "['1st']");
        assert_eq!(name("table"), "['table']");
        assert_eq!(name("string"), "['string']");
        assert_eq!(name("Table"), "Table");
        assert_eq!(name("it's"), r"['it\'s']");
        assert_eq!(name(r"a\b"), r"['a\\b']");
        assert_eq!(name("Täble"), "['Täble']");
        assert_eq!(name(""), "['']");
    }

    #[test]
    fn strings() {
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
        assert_eq!(string("it's"), r#""it's""#);
        assert_eq!(string("a\nb\tc\rd\u{1}"), r#""a\nb\tc\rd\u0001""#);
        assert_eq!(string("ünïcödé ✓"), "\"ünïcödé ✓\"");
    }
}

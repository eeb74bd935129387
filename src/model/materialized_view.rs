//! Materialized views in canonical form, shared by desired state (`kind: MaterializedView`
//! documents) and observed state (the `MaterializedViews` of `.show database DB schema as
//! json`).
//!
//! Two definitions are the same view when their names, source tables, docstrings and folders
//! are equal and their queries differ at most in whitespace and line endings (like function
//! bodies: the service keeps a query as it was sent). `lookback` and `autoUpdateSchema` are
//! compared only when the live side reports them: the schema read carries them when the
//! service lists them, and a property the read does not carry is never called drift.

use serde::{Deserialize, Serialize};

use super::Timespan;
use super::function::normalize_body;

/// A materialized view of a database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterializedView {
    /// View name.
    pub name: String,
    /// The table (or materialized view) the view aggregates.
    pub source: String,
    /// The query without its surrounding braces, as declared or as stored (not normalised:
    /// plans and imports show it as written; [`MaterializedView::same_query`] compares it).
    pub query: String,
    /// Docstring without the ownership marker ("" and absent are the same).
    pub docstring: String,
    /// Folder ("" and absent are the same).
    pub folder: String,
    /// The stack that owns the view, from the marker in its docstring.
    pub owner: Option<String>,
    /// The lookback period: declared, `None` when not managed; observed, `None` when the
    /// read does not report one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::timespan::optional_text"
    )]
    pub lookback: Option<Timespan>,
    /// `autoUpdateSchema`: declared, always set (default `false`); observed, `None` when the
    /// read does not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update_schema: Option<bool>,
    /// Desired state only: fill the view with the source's existing records when it is
    /// created (`backfill=true`, with the `async` form). Creation-time only, never compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfill: bool,
    /// Desired state only: the view's previous name (`renamed_from`), which the plan renames
    /// to this one while only the old name exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// How a declared view's query differs from the live one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryChange {
    /// The same query once whitespace and line endings are normalised.
    Same,
    /// A change `.alter materialized-view` makes in place: the source table and the
    /// `summarize ... by` keys are unchanged (added aggregations, other filters).
    InPlace,
    /// A change the service cannot make in place (another source table, other or no
    /// group-by keys): the view must be dropped and created again, losing its data.
    Recreate,
}

impl MaterializedView {
    /// Whether the queries are equal once whitespace and line endings are normalised.
    pub fn same_query(&self, other: &MaterializedView) -> bool {
        normalize_body(&self.query) == normalize_body(&other.query)
    }

    /// How `self` (declared) differs from `live` in source and query. Conservative: when the
    /// group-by keys of either query cannot be read, the change is a re-creation.
    pub fn query_change(&self, live: &MaterializedView) -> QueryChange {
        if self.source != live.source {
            return QueryChange::Recreate;
        }
        if self.same_query(live) {
            return QueryChange::Same;
        }
        match (group_by_keys(&self.query), group_by_keys(&live.query)) {
            (Some(a), Some(b)) if a == b => QueryChange::InPlace,
            _ => QueryChange::Recreate,
        }
    }
}

/// The keys after `by` of the query's last `summarize`, normalised (whitespace folded, order
/// kept), or `None` when the query has no `summarize ... by`. Text inside brackets and string
/// literals is skipped, so `summarize arg_max(T, *) by Id` gives `["Id"]`.
pub fn group_by_keys(query: &str) -> Option<Vec<String>> {
    let text = normalize_body(query);
    let words = top_level_words(&text);
    let summarize = words.iter().rposition(|(w, _)| *w == "summarize")?;
    let by = words[summarize..]
        .iter()
        .rposition(|(w, _)| *w == "by")
        .map(|i| i + summarize)?;
    let start = words[by].1 + "by".len();
    let end = text[start..].find('|').map_or(text.len(), |i| start + i);
    let keys: Vec<String> = split_top_level(&text[start..end])
        .into_iter()
        .map(|k| k.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|k| !k.is_empty())
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// The words outside brackets and string literals, with their byte offsets.
fn top_level_words(text: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let word_char = c.is_alphanumeric() || c == '_';
        if word_char && depth == 0 {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push((&text[s..i], s));
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((&text[s..], s));
    }
    out
}

/// Splits on commas outside brackets and string literals.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut from = 0;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&text[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(source: &str, query: &str) -> MaterializedView {
        MaterializedView {
            name: "V".into(),
            source: source.into(),
            query: query.into(),
            ..Default::default()
        }
    }

    #[test]
    fn group_by_keys_skip_brackets_and_literals() {
        assert_eq!(
            group_by_keys("T | summarize arg_max(Timestamp, *) by DeviceId"),
            Some(vec!["DeviceId".to_string()])
        );
        assert_eq!(
            group_by_keys(
                "T\r\n| where S != 'by x'\n| summarize count(), max(V) by A,  bin(Ts, 1d)\n| project A"
            ),
            Some(vec!["A".to_string(), "bin(Ts, 1d)".to_string()])
        );
        assert_eq!(group_by_keys("T | summarize count()"), None);
        assert_eq!(group_by_keys("T | take 10"), None);
    }

    #[test]
    fn query_changes_are_classified_conservatively() {
        let live = view("T", "T | summarize count() by Id");
        assert_eq!(
            view("T", "T\r\n|   summarize count()   by Id").query_change(&live),
            QueryChange::Same
        );
        assert_eq!(
            view("T", "T | where Id != '' | summarize count(), avg(V) by Id").query_change(&live),
            QueryChange::InPlace
        );
        assert_eq!(
            view("T", "T | summarize count() by Id, Kind").query_change(&live),
            QueryChange::Recreate
        );
        assert_eq!(
            view("U", "T | summarize count() by Id").query_change(&live),
            QueryChange::Recreate
        );
        assert_eq!(
            view("T", "T | take 1").query_change(&live),
            QueryChange::Recreate
        );
    }
}

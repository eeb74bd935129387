//! A small YAML writer for imported manifests.
//!
//! Imported files are read and edited by people, so they follow the hand-written examples: block
//! maps, short rows (columns, routes, principals) as one-line flow maps, plain scalars wherever
//! YAML reads them back as the same string, and double quotes otherwise. A general serializer
//! cannot do that layout, and the manifest's own `${var.NAME}` syntax needs escaping that only
//! this writer knows about.

use std::borrow::Cow;

/// A YAML value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A string.
    Str(String),
    /// A multi-line text (a function body), written as a literal block (`|-`) when YAML
    /// reads that back as the same text, else as a string.
    Text(String),
    /// An integer.
    Int(u64),
    /// A boolean.
    Bool(bool),
    /// A block map, keys in the given order.
    Map(Vec<(String, Node)>),
    /// A map written on one line (`{a: 1, b: x}`); values must be scalars.
    Flow(Vec<(String, Node)>),
    /// A block sequence.
    Seq(Vec<Node>),
}

impl Node {
    /// A string node.
    pub fn str(text: impl Into<String>) -> Node {
        Node::Str(text.into())
    }
}

/// A map under construction that skips absent values, so callers list every field once.
#[derive(Debug, Default)]
pub struct MapBuilder(Vec<(String, Node)>);

impl MapBuilder {
    /// Adds `key: value`.
    pub fn put(mut self, key: &str, value: Node) -> MapBuilder {
        self.0.push((key.to_string(), value));
        self
    }

    /// Adds `key: value` when there is a value.
    pub fn opt(self, key: &str, value: Option<Node>) -> MapBuilder {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    /// The block map.
    pub fn block(self) -> Node {
        Node::Map(self.0)
    }

    /// The one-line flow map.
    pub fn flow(self) -> Node {
        Node::Flow(self.0)
    }
}

/// One document: the schema comment line, optional comment lines, and the top-level map.
pub fn document(schema: &str, comments: &[String], root: &Node) -> String {
    let mut out = format!("# yaml-language-server: $schema={schema}\n");
    for c in comments {
        for line in c.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Node::Map(entries) = root {
        write_entries(entries, 0, &mut out);
    }
    out
}

fn pad(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_entries(entries: &[(String, Node)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        pad(indent, out);
        write_entry(key, value, indent + 2, out);
    }
}

/// Writes `key: value` (after the prefix the caller wrote); nested blocks are indented to
/// `child`. Everything is written straight into `out`: an import of 10,000 tables writes
/// about a million scalars.
fn write_entry(key: &str, value: &Node, child: usize, out: &mut String) {
    scalar(key, false, out);
    match value {
        Node::Map(entries) if entries.is_empty() => out.push_str(": {}\n"),
        Node::Map(entries) => {
            out.push_str(":\n");
            write_entries(entries, child, out);
        }
        Node::Seq(items) if items.is_empty() => out.push_str(": []\n"),
        Node::Seq(items) => {
            out.push_str(":\n");
            for item in items {
                write_item(item, child, out);
            }
        }
        Node::Text(text) if is_literal_block(text) => {
            out.push_str(": |-\n");
            for line in escape_vars(text).lines() {
                if !line.is_empty() {
                    pad(child, out);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push_str(": ");
            inline(other, out);
            out.push('\n');
        }
    }
}

/// Whether a literal block (`|-`) reads back as exactly `text`: no leading or trailing
/// blank, no first line starting with a space (the block's indentation would absorb it), no
/// line with trailing spaces (kept, but invisible to reviewers), no control characters but
/// tabs, and no byte-order mark.
fn is_literal_block(text: &str) -> bool {
    !text.is_empty()
        && text.trim() == text
        && !text.contains('\u{feff}')
        && text
            .lines()
            .all(|l| l.trim_end() == l && l.chars().all(|c| c == '\t' || !c.is_control()))
}

fn write_item(item: &Node, indent: usize, out: &mut String) {
    pad(indent, out);
    match item {
        Node::Map(entries) if !entries.is_empty() => {
            let (first, rest) = entries.split_at(1);
            out.push_str("- ");
            write_entry(&first[0].0, &first[0].1, indent + 4, out);
            write_entries(rest, indent + 2, out);
        }
        Node::Seq(items) => {
            out.push_str("-\n");
            for i in items {
                write_item(i, indent + 2, out);
            }
        }
        other => {
            out.push_str("- ");
            inline(other, out);
            out.push('\n');
        }
    }
}

/// A scalar or flow map on one line.
fn inline(node: &Node, out: &mut String) {
    match node {
        Node::Str(s) | Node::Text(s) => scalar(s, true, out),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Flow(entries) | Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                scalar(k, false, out);
                out.push_str(": ");
                inline_flow(v, out);
            }
            out.push('}');
        }
        Node::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline_flow(item, out);
            }
            out.push(']');
        }
    }
}

fn inline_flow(node: &Node, out: &mut String) {
    match node {
        Node::Str(s) | Node::Text(s) => flow_scalar(s, out),
        other => inline(other, out),
    }
}

/// A string as it is written inside a flow map (where `,{}[]` are syntax).
fn flow_scalar(text: &str, out: &mut String) {
    if text.contains([',', '{', '}', '[', ']']) {
        out.push_str(&quoted(&escape_vars(text)));
    } else {
        scalar(text, true, out);
    }
}

/// A string scalar: plain when YAML reads it back as the same string, double-quoted otherwise.
/// Values (`value == true`) also get the manifest's `$${` escape where they would otherwise be
/// read as a `${var.NAME}` reference.
fn scalar(text: &str, value: bool, out: &mut String) {
    let text = if value {
        escape_vars(text)
    } else {
        Cow::Borrowed(text)
    };
    if is_plain(&text) {
        out.push_str(&text);
    } else {
        out.push_str(&quoted(&text));
    }
}

/// `${var.` and `$${` mean something to the manifest loader; `$${` writes a literal `${`.
fn escape_vars(text: &str) -> Cow<'_, str> {
    if text.contains('$') && (text.contains("${var.") || text.contains("$${")) {
        Cow::Owned(text.replace("${", "$${"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A YAML double-quoted scalar that reads back as exactly `text`: quotes, backslashes and
/// every control character escaped (DEL and the C1 controls too, which YAML does not allow
/// unescaped and JSON string syntax would leave raw). Shared by every YAML kustoplan writes.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words YAML 1.1/1.2 resolves to booleans or null.
const RESERVED: [&str; 11] = [
    "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n", "nan",
];

/// Whether a text starting with `first` may read as a number (`1`, `.5`, `inf`, `NaN`): the
/// only ones worth the cost of parsing one.
fn may_be_a_number(first: char) -> bool {
    first.is_ascii_digit() || matches!(first.to_ascii_lowercase(), '.' | 'i' | 'n')
}

fn is_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || matches!(first, '_' | '.' | '/' | '$' | '(')) {
        return false;
    }
    if text.ends_with([' ', ':'])
        || text
            .as_bytes()
            .windows(2)
            .any(|pair| pair == b": " || pair == b" #")
        || RESERVED.iter().any(|r| r.eq_ignore_ascii_case(text))
        || (may_be_a_number(first) && text.parse::<f64>().is_ok())
        || text
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case("0x") || p.eq_ignore_ascii_case("0o"))
        || text.starts_with(".inf")
        || text.starts_with(".nan")
    {
        return false;
    }
    text.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '_' | '.'
                    | '/'
                    | '-'
                    | '@'
                    | '$'
                    | '+'
                    | '('
                    | ')'
                    | '='
                    | ';'
                    | ':'
                    | ' '
                    | '{'
                    | '}'
            )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_scalars_read_back_as_the_same_text_control_characters_included() {
        let text = "a\"b\\c\nd\te\r\u{7f}\u{85}\u{8}${file:/s.properties:key}";
        let written = super::quoted(text);
        assert!(!written.chars().any(char::is_control), "{written:?}");
        let docs = crate::manifest::node::parse_documents(&format!("v: {written}\n"), 0)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(docs[0].to_json()["v"], text);
    }

    use super::*;

    fn scalar(text: &str, value: bool) -> String {
        let mut out = String::new();
        super::scalar(text, value, &mut out);
        out
    }

    fn flow_scalar(text: &str) -> String {
        let mut out = String::new();
        super::flow_scalar(text, &mut out);
        out
    }

    fn doc(root: Node) -> String {
        document("s.json", &[], &root)
    }

    #[test]
    fn scalars_are_plain_only_when_they_read_back_the_same() {
        assert_eq!(scalar("GamePlay", true), "GamePlay");
        assert_eq!(scalar("$.playerId", true), "$.playerId");
        assert_eq!(
            scalar("${file:/s.properties:k}", true),
            "${file:/s.properties:k}"
        );
        assert_eq!(scalar("true", true), "\"true\"");
        assert_eq!(scalar("123", true), "\"123\"");
        assert_eq!(scalar("1e5", true), "\"1e5\"");
        assert_eq!(scalar("", true), "\"\"");
        assert_eq!(scalar("a: b", true), "\"a: b\"");
        assert_eq!(scalar("-x", true), "\"-x\"");
        assert_eq!(scalar("say \"hi\"\n", true), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(scalar("${var.x}", true), "$${var.x}");
        assert_eq!(scalar("a$${b", true), "a$$${b");
        assert_eq!(flow_scalar("${file:/a:b}"), "\"${file:/a:b}\"");
    }

    proptest::proptest! {
        /// Whatever a live system holds, the manifest loader reads back the same string (not a
        /// number, boolean or `${var.NAME}` reference), in block and in flow position.
        #[test]
        fn every_string_reads_back_the_same(text in "[ -~\u{e9}\u{4e2d}\n\t]{0,24}") {
            let root = MapBuilder::default()
                .put("block", Node::str(text.clone()))
                .put("flow", MapBuilder::default().put("v", Node::str(text.clone())).flow())
                .block();
            let yaml = doc(root);
            let mut docs = crate::manifest::node::parse_documents(&yaml, 0)
                .map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e:?}: {yaml}")))?;
            proptest::prop_assert_eq!(docs.len(), 1);
            let mut problems = Vec::new();
            crate::manifest::vars::substitute(&mut docs[0], &Default::default(), &mut problems);
            proptest::prop_assert!(problems.is_empty(), "{}", yaml);
            let back = &docs[0];
            proptest::prop_assert_eq!(
                back.get("block").and_then(|n| n.as_str()),
                Some(text.as_str()),
                "{}",
                yaml
            );
            proptest::prop_assert_eq!(
                back.get("flow").and_then(|f| f.get("v")).and_then(|n| n.as_str()),
                Some(text.as_str()),
                "{}",
                yaml
            );
        }
    }

    #[test]
    fn layout_follows_the_examples() {
        let root = MapBuilder::default()
            .put("kind", Node::str("Table"))
            .put(
                "columns",
                Node::Seq(vec![
                    MapBuilder::default()
                        .put("name", Node::str("Id"))
                        .put("type", Node::str("int"))
                        .flow(),
                ]),
            )
            .put(
                "mappings",
                Node::Seq(vec![
                    MapBuilder::default()
                        .put("name", Node::str("m"))
                        .put("columns", Node::Seq(vec![]))
                        .block(),
                ]),
            )
            .put("config", Node::Map(vec![]))
            .put(
                "batching",
                MapBuilder::default().put("max_items", Node::Int(5)).block(),
            )
            .block();
        assert_eq!(
            doc(root),
            "# yaml-language-server: $schema=s.json\nkind: Table\ncolumns:\n  - {name: Id, type: int}\nmappings:\n  - name: m\n    columns: []\nconfig: {}\nbatching:\n  max_items: 5\n"
        );
    }
}

//! A YAML document as a tree of located nodes.
//!
//! serde-saphyr parses the text (anchors, merge keys, duplicate-key rejection); we keep the
//! result as a tree in which every node remembers where it was written. Having the tree lets us
//! substitute variables, check the whole document against the JSON Schema (reporting every problem,
//! not just the first one serde would stop at), and only then deserialize into typed structs.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A position in a manifest: which file, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Loc {
    /// Index of the file in the [`crate::diagnostics::SourceMap`].
    pub file: u32,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
}

/// One YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node was written (for aliases: where the alias was used).
    pub loc: Loc,
    /// The value.
    pub value: Value,
}

/// The value of a YAML node, typed as YAML's core schema resolves plain scalars.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Any string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, with located keys.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short name of the value's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// Looks up a string key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Sets the file index of this node and all its children.
    pub fn set_file(&mut self, file: u32) {
        self.loc.file = file;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.set_file(file)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.set_file(file);
                v.set_file(file);
            }),
            _ => {}
        }
    }

    /// Converts to JSON for schema validation. Non-string keys are rendered as their YAML text.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => s.clone().into(),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.key_text(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }

    /// The text of a mapping key as JSON would name it.
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => "<complex key>".into(),
        }
    }

    /// Finds the node a JSON pointer (as jsonschema reports it) designates.
    pub fn at_pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for raw in pointer.split('/').skip(1) {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k.key_text() == segment)
                    .map(|(_, v)| v)?,
                Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Finds the key node of `key` inside the mapping at `pointer`, to point at a bad key itself.
    pub fn key_at_pointer(&self, pointer: &str, key: &str) -> Option<&Node> {
        match &self.at_pointer(pointer)?.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.key_text() == key)
                .map(|(k, _)| k),
            _ => None,
        }
    }
}

struct RawValue(Value);

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<RawValue>::deserialize(deserializer)?;
        let at = spanned.referenced;
        Ok(Node {
            loc: Loc {
                file: 0,
                line: u32::try_from(at.line()).unwrap_or(u32::MAX),
                column: u32::try_from(at.column()).unwrap_or(u32::MAX),
            },
            value: spanned.value.0,
        })
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor).map(RawValue)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(RawVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// A YAML error with the position serde-saphyr reported.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where the parser stopped (file index set by the caller).
    pub loc: Loc,
    /// The parser's message, without its own location suffix.
    pub message: String,
}

/// Parses every document of a YAML file into located nodes. Empty documents are dropped.
pub fn parse_documents(text: &str, file: u32) -> Result<Vec<Node>, YamlError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        budget: Some(size_budget()),
    };
    match serde_saphyr::from_multiple_with_options::<Option<Node>>(text, options) {
        Ok(docs) => Ok(docs
            .into_iter()
            .flatten()
            .filter(|n| n.value != Value::Null)
            .map(|mut n| {
                n.set_file(file);
                n
            })
            .collect()),
        Err(err) => {
            let loc = err.location().map_or(
                Loc {
                    file,
                    line: 0,
                    column: 0,
                },
                |l| Loc {
                    file,
                    line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(l.column()).unwrap_or(u32::MAX),
                },
            );
            Err(YamlError {
                loc,
                message: plain_message(&err),
            })
        }
    }
}

/// serde-saphyr's default budget stops at 1,024 documents and 250,000 nodes per file, which a
/// stack of 10,000 tables in one file exceeds. The size limits are raised (5 million nodes is
/// about 150,000 tables). Alias bombs must fail fast instead: an anchor that contains aliases
/// copies their events, and the default allows a million copies, which took seconds for a
/// 400-byte file; [`MAX_ANCHOR_COPIES`] cuts that tenfold while leaving real reuse (anchors of
/// defaults merged into thousands of tables copy nothing) far below it.
fn size_budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1_000_000;
    budget.max_nodes = 5_000_000;
    budget.max_events = 20_000_000;
    budget.max_recorded_anchor_events = MAX_ANCHOR_COPIES;
    budget
}

/// Events copied into anchored nodes (with the aliases inside them expanded) per file.
const MAX_ANCHOR_COPIES: usize = 100_000;

/// serde-saphyr renders a snippet and an "at line X column Y" suffix; we render our own snippet,
/// so keep only the first line and drop the suffix.
fn plain_message(err: &serde_saphyr::Error) -> String {
    let rendered = err.without_snippet().to_string();
    let first = rendered.lines().next().unwrap_or("invalid YAML").trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    let message = cut.trim_end_matches('.');
    match message.strip_prefix("duplicate mapping key: ") {
        Some(rest) => {
            let key = rest
                .split(", set DuplicateKeyPolicy")
                .next()
                .unwrap_or(rest);
            format!("duplicate key `{key}`")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_of_keys_and_values() {
        let docs = parse_documents("kind: Table\nname: T\ncolumns:\n  - name: A\n", 3).unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        let name = d.get("name").unwrap();
        assert_eq!(
            name.loc,
            Loc {
                file: 3,
                line: 2,
                column: 7
            }
        );
        let col = d.at_pointer("/columns/0/name").unwrap();
        assert_eq!(col.as_str(), Some("A"));
        assert_eq!(col.loc.line, 4);
        let key = d.key_at_pointer("/columns/0", "name").unwrap();
        assert_eq!((key.loc.line, key.loc.column), (4, 5));
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let docs = parse_documents("a: 1\n---\n---\nb: [x, 2, true, 1.5, ~]\n", 0).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[1].to_json(),
            serde_json::json!({"b": ["x", 2, true, 1.5, null]})
        );
        assert_eq!(docs[1].loc.line, 4);
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let docs = parse_documents("y: no\non: yes\nid: 0123\nok: true\n", 0).unwrap();
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({"y": "no", "on": "yes", "id": "0123", "ok": true})
        );
    }

    /// Regression: 10,000 tables in one file broke the parser's default document budget.
    #[test]
    fn large_files_with_many_documents_parse() {
        let text: String = (0..2000)
            .map(|i| format!("---\nkind: Table\nname: T{i}\n"))
            .collect();
        assert_eq!(parse_documents(&text, 0).map(|d| d.len()), Ok(2000));
    }

    #[test]
    fn alias_bombs_are_refused_after_a_bounded_amount_of_copying() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let err = parse_documents(&text, 0).expect_err("a billion-laughs document is refused");
        assert!(
            err.message.contains(&format!(
                "recorded_anchor_events: {}",
                MAX_ANCHOR_COPIES + 1
            )),
            "it stops at the copy budget, not later: {}",
            err.message
        );
    }

    /// Regression for the tighter alias budget: anchors of defaults merged into many entries
    /// (anchors live within one document; more than 100 aliases at over 10 per anchor is
    /// refused by the parser's ratio rule, whatever the copy budget) is reuse, not a bomb.
    #[test]
    fn defaults_merged_into_many_entries_parse() {
        let mut text = String::from(
            "defaults: &defaults {max_time: 10s, max_items: 5, max_raw_size_mb: 100}\ncolumns: &columns [{name: Id, type: int}, {name: At, type: datetime}]\ntables:\n",
        );
        for i in 0..40 {
            text.push_str(&format!(
                "  - {{name: T{i}, columns: *columns, batching: {{<<: *defaults, max_items: 6}}}}\n"
            ));
        }
        let docs = parse_documents(&text, 0).expect("parses");
        let tables = docs[0].get("tables").expect("tables").to_json();
        assert_eq!(tables[39]["batching"]["max_items"], 6);
        assert_eq!(tables[39]["batching"]["max_time"], "10s");
        assert_eq!(tables[39]["columns"][1]["name"], "At");
    }

    #[test]
    fn anchors_and_merge_keys() {
        let text = "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n";
        let docs = parse_documents(text, 0).unwrap();
        assert_eq!(
            docs[0].get("derived").unwrap().to_json(),
            serde_json::json!({"x": 1, "y": 3})
        );
    }

    #[test]
    fn duplicate_keys_are_errors_with_a_location() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n", 5).unwrap_err();
        assert_eq!(err.loc.file, 5);
        assert_eq!(err.loc.line, 3);
        assert_eq!(err.message, "duplicate key `a`");
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse_documents("a: [1, 2\nb: 3\n", 0).unwrap_err();
        assert!(err.loc.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }
}

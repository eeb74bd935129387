//! A YAML document as a tree of located nodes.
//!
//! The tree is built straight from the YAML parser's events (`events.rs`: anchors, merge keys,
//! duplicate-key rejection) with scalars typed by YAML 1.2's core schema (`scalar.rs`); every
//! node remembers where it was written. Having the tree lets us substitute variables, check the
//! whole document against the JSON Schema (reporting every problem, not just the first one serde
//! would stop at), and only then deserialize into typed structs.

use compact_str::CompactString;

mod events;
mod fast;
mod pieces;
mod scalar;

use events::{Builder, Limits};

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
    /// Any string. Most scalars of a manifest are names and short values, held inline
    /// without an allocation of their own (a third of a table's nodes were string buffers).
    Str(CompactString),
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

    /// Converts to JSON for schema validation. Non-string keys are rendered as their YAML text.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => s.as_str().into(),
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
            Value::Str(s) => s.to_string(),
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

/// A YAML error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where the parser stopped, or the node that is wrong.
    pub loc: Loc,
    /// What is wrong, without a position.
    pub message: String,
}

/// Parses every document of a YAML file into located nodes, `file` being the file's index in
/// the [`crate::diagnostics::SourceMap`]. Empty documents are dropped.
pub fn parse_documents(text: &str, file: u32) -> Result<Vec<Node>, YamlError> {
    // The fast reader handles the YAML manifests are usually written in; for anything else,
    // and for every error, the full parser reads the file.
    let full = || Builder::new(text, file, Limits::MANIFEST).run();
    let fast = pieces::read(text, file)
        .ok_or(fast::GaveUp)
        .or_else(|fast::GaveUp| fast::read(text, Builder::new(text, file, Limits::MANIFEST)));
    match fast {
        Ok(docs) => {
            // Debug builds (every test) check the fast reader against the full parser.
            debug_assert_eq!(Ok(&docs), full().as_ref(), "the fast YAML reader disagrees");
            Ok(docs)
        }
        Err(fast::GaveUp) => full(),
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

    /// A billion-laughs document: nine levels of ten aliases to the level below.
    fn laughs() -> String {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        text
    }

    #[test]
    fn alias_bombs_are_refused_after_a_bounded_amount_of_copying() {
        let text = laughs();
        let mut builder = Builder::new(&text, 0, Limits::MANIFEST);
        let err = builder
            .run()
            .expect_err("a billion-laughs document is refused");
        assert!(
            err.message.contains(&format!(
                "would expand the file past {} copied nodes",
                Limits::MANIFEST.max_copied
            )),
            "{}",
            err.message
        );
        assert!(
            builder.copied <= Limits::MANIFEST.max_copied,
            "copying stops at the budget: {} copied",
            builder.copied
        );
        // The first alias whose copy would not fit is the one named, where it is written.
        assert_eq!(err.loc.line, 6, "{err:?}");
    }

    /// Regression: a 600-byte bomb took 11 s to refuse when every copy was made before being
    /// counted. Copies are counted before they are made, so refusal costs at most the budget.
    #[test]
    fn a_600_byte_alias_bomb_is_refused_with_a_clear_error() {
        let text = laughs();
        assert!(text.len() <= 700, "{} bytes", text.len());
        let small = Limits {
            max_copied: 1_000,
            ..Limits::MANIFEST
        };
        let mut builder = Builder::new(&text, 0, small);
        let err = builder.run().expect_err("refused");
        assert_eq!(
            err.message,
            "alias `*a1` would expand the file past 1000 copied nodes (aliases inside anchors multiply: an alias bomb?)"
        );
        assert!(builder.copied <= 1_000, "{} copied", builder.copied);
        assert_eq!(err.loc.line, 3, "{err:?}");
        let err = parse_documents(&text, 4).expect_err("refused with the real limits too");
        assert_eq!((err.loc.file, err.loc.line), (4, 6), "{err:?}");
    }

    /// Regression for the alias budget: anchors of defaults merged into many entries of one
    /// document (anchors live within a document) is reuse, not a bomb.
    #[test]
    fn defaults_merged_into_many_entries_parse() {
        let mut text = String::from(
            "defaults: &defaults {max_time: 10s, max_items: 5, max_raw_size_mb: 100}\ncolumns: &columns [{name: Id, type: int}, {name: At, type: datetime}]\ntables:\n",
        );
        for i in 0..1000 {
            text.push_str(&format!(
                "  - {{name: T{i}, columns: *columns, batching: {{<<: *defaults, max_items: 6}}}}\n"
            ));
        }
        let docs = parse_documents(&text, 0).expect("parses");
        let tables = docs[0].get("tables").expect("tables").to_json();
        assert_eq!(tables[999]["batching"]["max_items"], 6);
        assert_eq!(tables[999]["batching"]["max_time"], "10s");
        assert_eq!(tables[999]["columns"][1]["name"], "At");
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

    fn value_of(text: &str) -> Result<serde_json::Value, String> {
        parse_documents(&format!("v: {text}\n"), 0)
            .map(|docs| docs[0].get("v").map(Node::to_json).unwrap_or_default())
            .map_err(|e| e.message)
    }

    #[test]
    fn scalars_resolve_by_the_yaml_1_2_core_schema() {
        use serde_json::json;
        for (text, want) in [
            ("~", json!(null)),
            ("Null", json!(null)),
            ("", json!(null)),
            ("TRUE", json!(true)),
            ("False", json!(false)),
            ("off", json!("off")),
            ("y", json!("y")),
            ("-0", json!(0)),
            ("+12", json!(12)),
            ("0x1F", json!(31)),
            ("-0x10", json!(-16)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("0xZZ", json!("0xZZ")),
            ("007", json!("007")),
            ("1_000", json!("1_000")),
            ("9223372036854775808", json!(9_223_372_036_854_775_808.0)),
            ("1.5e3", json!(1500.0)),
            (".5", json!(0.5)),
            ("nan", json!("nan")),
            ("12:30", json!("12:30")),
            ("'12'", json!("12")),
            ("\"true\"", json!("true")),
            ("|-\n  12", json!("12")),
            ("!!str 12", json!("12")),
            ("! 12", json!("12")),
            ("!!int \"12\"", json!(12)),
            ("!!float 1", json!(1.0)),
            ("!!null x", json!(null)),
            ("!custom 12", json!(12)),
            ("!!binary aGVsbG8=", json!("hello")),
        ] {
            assert_eq!(value_of(text), Ok(want), "{text}");
        }
        for (text, message) in [
            (
                ".inf",
                "non-finite number `.inf`: manifests take finite numbers only",
            ),
            (
                "-.NaN",
                "non-finite number `-.NaN`: manifests take finite numbers only",
            ),
            (
                "1e999",
                "number `1e999` is too large: manifests take finite numbers only",
            ),
            ("!!int abc", "invalid integer `abc`"),
            (
                "!!bool yes",
                "invalid boolean `yes` (expected true or false)",
            ),
            ("!!timestamp 2001-12-14", "unsupported tag `!!timestamp`"),
        ] {
            assert_eq!(value_of(text), Err(message.to_string()), "{text}");
        }
    }

    #[test]
    fn an_alias_is_a_copy_located_where_the_alias_is_written() {
        let docs = parse_documents("a: &x {k: [1]}\nb: *x\n", 0).unwrap();
        let copy = docs[0].at_pointer("/b/k/0").unwrap();
        assert_eq!((copy.loc.line, copy.loc.column), (2, 4));
        assert_eq!(copy.to_json(), 1);
        let original = docs[0].at_pointer("/a/k/0").unwrap();
        assert_eq!((original.loc.line, original.loc.column), (1, 12));
    }

    #[test]
    fn merge_lists_give_precedence_to_the_first_mapping_and_explicit_keys_win() {
        let text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 0\n";
        let c = parse_documents(text, 0).unwrap()[0]
            .get("c")
            .unwrap()
            .to_json();
        assert_eq!(c, serde_json::json!({"x": 1, "y": 1, "z": 0}));
        let keys: Vec<String> = match &parse_documents(text, 0).unwrap()[0].get("c").unwrap().value
        {
            Value::Map(entries) => entries.iter().map(|(k, _)| k.key_text()).collect(),
            _ => Vec::new(),
        };
        assert_eq!(
            keys,
            ["z", "x", "y"],
            "explicit keys first, then merged ones"
        );
        let quoted = parse_documents("c: {\"<<\": {x: 1}}\n", 0).unwrap()[0].to_json();
        assert_eq!(quoted, serde_json::json!({"c": {"<<": {"x": 1}}}));
    }

    #[test]
    fn aliases_and_merges_that_cannot_be_built_are_errors_at_their_position() {
        let err = parse_documents("a: &r [*r]\n", 0).unwrap_err();
        assert_eq!((err.loc.line, err.loc.column), (1, 8));
        assert_eq!(err.message, "alias `*r` refers to a node that contains it");
        let err = parse_documents("a: *nope\n", 0).unwrap_err();
        assert_eq!((err.loc.line, err.loc.column), (1, 4));
        assert_eq!(err.message, "alias references unknown anchor");
        let err = parse_documents("c:\n  <<: [{a: 1}, 2]\n", 0).unwrap_err();
        assert_eq!((err.loc.line, err.loc.column), (2, 16));
        assert_eq!(
            err.message,
            "YAML merge value must be mapping or sequence of mappings"
        );
    }

    /// Keys that read the same are one JSON key: `1` and `"1"` would silently become one.
    #[test]
    fn keys_that_read_the_same_are_duplicates_in_small_and_large_mappings() {
        let err = parse_documents("1: a\n\"1\": b\n", 0).unwrap_err();
        assert_eq!(
            (err.loc.line, err.message.as_str()),
            (2, "duplicate key `1`")
        );
        let mut large: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        large.push_str("k42: again\n");
        let err = parse_documents(&large, 0).unwrap_err();
        assert_eq!(
            (err.loc.line, err.message.as_str()),
            (101, "duplicate key `k42`")
        );
        let merged = "d: &d {k1: x, k99: y, extra: z}\nm:\n  <<: *d\n";
        let mut text = merged.to_string();
        text.extend((0..100).map(|i| format!("  k{i}: {i}\n")));
        let m = parse_documents(&text, 0).unwrap()[0]
            .get("m")
            .unwrap()
            .to_json();
        assert_eq!(
            (m["k1"].clone(), m["extra"].clone()),
            (1.into(), "z".into())
        );
    }

    #[test]
    fn nesting_is_limited_aliases_included() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let err = parse_documents(&deep, 0).unwrap_err();
        assert_eq!(
            err.message,
            "nesting deeper than 64 levels of lists and mappings"
        );
        let ok = format!("a: &a {}{}\n", "[".repeat(63), "]".repeat(63));
        assert!(parse_documents(&ok, 0).is_ok());
        let err = parse_documents(&format!("{ok}b: [*a]\n"), 0).unwrap_err();
        assert_eq!((err.loc.line, err.loc.column), (2, 5));
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse_documents("a: [1, 2\nb: 3\n", 0).unwrap_err();
        assert!(err.loc.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }
}

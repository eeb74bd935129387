//! `kustoplan fmt`: manifests rewritten in one canonical layout, comments kept.
//!
//! A file is read twice: by the loader (so a file the loader refuses is refused here too, at
//! the same file:line:column) and as a layout tree (`tree.rs`) with the comments given to the
//! entries they describe (`comments.rs`). The tree is written in the canonical layout
//! (`emit.rs`) with keys in the order of the schema (`order.rs`). Before the result is handed
//! out it is loaded again: if its documents differ from the original's in any value, or a
//! comment went missing, the file is refused instead of rewritten.

mod comments;
mod emit;
mod order;
mod tree;

use super::node::{self, Loc, Node, Value};
use crate::diagnostics::Diagnostic;

/// Formats manifest files; holds the schema the key order is read from, built once.
pub struct Formatter {
    order: order::Order,
}

impl Default for Formatter {
    fn default() -> Self {
        Formatter::new()
    }
}

impl Formatter {
    /// A formatter with the canonical key order of the current schema.
    pub fn new() -> Formatter {
        Formatter {
            order: order::Order::new(),
        }
    }

    /// The text of a manifest file in the canonical layout, `file` being its index in the
    /// [`crate::diagnostics::SourceMap`] for positions. A file that does not load, uses what
    /// `fmt` does not rewrite (anchors, aliases, tags), or could not be rewritten without
    /// changing a value or losing a comment is refused with the position of the problem.
    /// Line breaks stay CRLF when the file's first one is.
    pub fn format(&self, text: &str, file: u32) -> Result<String, Diagnostic> {
        let crlf = text.find('\n').is_some_and(|i| text[..i].ends_with('\r'));
        let text = text.replace("\r\n", "\n");
        let before = node::parse_documents(&text, file).map_err(|e| {
            Diagnostic::at(e.loc, format!("invalid YAML: {}", e.message))
                .hint("fix the YAML syntax; the file is left as it is")
        })?;
        let source = tree::Source::new(&text);
        let mut parsed = tree::read(&text, file)?;
        let mut comments: Vec<String> = parsed.comments.iter().map(|c| c.text.clone()).collect();
        comments.sort();
        comments::attach(&mut parsed, &source)?;
        let out = emit::file(&parsed.documents, &self.order);
        self.check(&before, &comments, &out, file)?;
        Ok(if crlf { out.replace('\n', "\r\n") } else { out })
    }

    /// The safety net: the rewritten text loads to the same documents and has the same
    /// comments (`comments`: the original's, sorted).
    fn check(
        &self,
        before: &[Node],
        comments: &[String],
        out: &str,
        file: u32,
    ) -> Result<(), Diagnostic> {
        let unsafe_rewrite = |what: &str| {
            Diagnostic::at(
                Loc {
                    file,
                    line: 1,
                    column: 1,
                },
                format!("kustoplan fmt cannot rewrite this file without {what}"),
            )
            .hint("the file is left as it is; please report this, with the file, as a bug")
        };
        let after = node::parse_documents(out, file)
            .map_err(|_| unsafe_rewrite("making it invalid YAML"))?;
        let same =
            before.len() == after.len() && before.iter().zip(&after).all(|(a, b)| same_node(a, b));
        if !same {
            return Err(unsafe_rewrite("changing a value"));
        }
        let mut kept: Vec<String> = tree::read(out, file)
            .map_err(|_| unsafe_rewrite("moving a comment where it cannot stand"))?
            .comments
            .into_iter()
            .map(|c| c.text)
            .collect();
        kept.sort();
        if kept != comments {
            return Err(unsafe_rewrite("losing a comment"));
        }
        Ok(())
    }
}

/// Whether two nodes hold the same value, positions and the order of mapping keys aside
/// (mappings are compared by their keys' text, which is unique within a loaded mapping; list
/// or mapping keys, which all read `<complex key>`, keep their written order).
pub fn same_node(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_node(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && by_key(x)
                    .into_iter()
                    .zip(by_key(y))
                    .all(|((_, (ka, va)), (_, (kb, vb)))| same_node(ka, kb) && same_node(va, vb))
        }
        (x, y) => x == y,
    }
}

/// A mapping's entries sorted by their keys' text (stable: equal texts keep their order).
fn by_key(entries: &[(Node, Node)]) -> Vec<(String, &(Node, Node))> {
    let mut sorted: Vec<(String, &(Node, Node))> =
        entries.iter().map(|e| (e.0.key_text(), e)).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        Formatter::new()
            .format(text, 0)
            .unwrap_or_else(|d| panic!("{d:?}\n{text}"))
    }

    fn refusal(text: &str) -> Diagnostic {
        match Formatter::new().format(text, 0) {
            Ok(out) => panic!("formatted instead of refused:\n{out}"),
            Err(d) => d,
        }
    }

    /// Formatting twice changes nothing more, the documents load the same, and the parser
    /// reports the same comments.
    fn assert_safe(text: &str) -> String {
        let once = fmt(text);
        assert_eq!(fmt(&once), once, "not idempotent:\n{text}\n---\n{once}");
        let json = |t: &str| {
            node::parse_documents(t, 0)
                .map(|docs| docs.iter().map(Node::to_json).collect::<Vec<_>>())
                .unwrap_or_else(|e| panic!("{e:?}\n{t}"))
        };
        assert_eq!(
            json(&once),
            json(text),
            "meaning changed:\n{text}\n---\n{once}"
        );
        let comments = |t: &str| {
            let mut texts: Vec<String> = tree::read(t, 0)
                .map(|p| p.comments.into_iter().map(|c| c.text).collect())
                .unwrap_or_else(|d| panic!("{d:?}\n{t}"));
            texts.sort();
            texts
        };
        assert_eq!(comments(&once), comments(text), "comments:\n{once}");
        once
    }

    #[test]
    fn keys_follow_the_schema_and_comments_move_with_their_entry() {
        let text = "# yaml-language-server: $schema=s.json\nname: T # the name\nkind: Table\n# the mappings\nmappings: []\ncolumns:\n- {type: int,   name: A}\n";
        let out = assert_safe(text);
        assert_eq!(
            out,
            "# yaml-language-server: $schema=s.json\nkind: Table\nname: T # the name\ncolumns:\n  - {name: A, type: int}\n# the mappings\nmappings: []\n"
        );
    }

    #[test]
    fn unknown_keys_follow_the_known_ones_in_written_order() {
        let out = assert_safe("zeta: 1\nkind: Topic\nalpha: 2\npartitions: 3\nname: t\n");
        assert_eq!(
            out,
            "kind: Topic\nname: t\npartitions: 3\nzeta: 1\nalpha: 2\n"
        );
    }

    #[test]
    fn maps_of_names_keep_their_order() {
        let out =
            assert_safe("kind: Topic\nname: t\npartitions: 1\nconfig:\n    z.b: 1\n    a.c: x\n");
        assert_eq!(
            out,
            "kind: Topic\nname: t\npartitions: 1\nconfig:\n  z.b: 1\n  a.c: x\n"
        );
    }

    #[test]
    fn documents_without_a_known_kind_are_only_laid_out() {
        let out = assert_safe("b:   1\na:\n    - x\n    -   y\n");
        assert_eq!(out, "b: 1\na:\n  - x\n  - y\n");
    }

    #[test]
    fn scalars_keep_their_spelling() {
        let text = "kind: Stack\nname: s\nvars:\n  a: on\n  b: yes\n  c: 1.0\n  d: '${var.X}'\n  e: \"x: y\"\n  f: 'a # b'\n  g: 007\n  h: \"tab\\there\"\n  i: 'tab\there'\n  j: ~\n";
        let out = assert_safe(text);
        assert_eq!(out, text);
    }

    #[test]
    fn block_scalars_are_copied_and_reindented_alike() {
        let text =
            "kind: Function\nname: F\nbody: |\n    T\n      | where x\n\n    | take 1\nfolder: x\n";
        let out = assert_safe(text);
        assert_eq!(
            out,
            "kind: Function\nname: F\nbody: |\n  T\n    | where x\n\n  | take 1\nfolder: x\n"
        );
        for header in ["|-", ">", ">+", "|2", "|+2"] {
            assert_safe(&format!(
                "a:\n  b: {header}\n     one\n      two\n\n  c: d\n"
            ));
        }
    }

    #[test]
    fn sequences_are_indented_under_their_key_and_items_start_on_the_dash_line() {
        let text = "kind: Database\nname: d\nprincipals:\n  admins:\n  # who administers\n  - app: x   # the app\n    tenant: t\n  -\n    user: u\n";
        let out = assert_safe(text);
        assert_eq!(
            out,
            "kind: Database\nname: d\nprincipals:\n  admins:\n    # who administers\n    - app: x # the app\n      tenant: t\n    - user: u\n"
        );
    }

    #[test]
    fn blank_lines_are_kept_once_and_trailing_blanks_dropped() {
        let out = assert_safe("a: 1   \n\n\n\nb: 2\n\n\n# end\n\n");
        assert_eq!(out, "a: 1\n\nb: 2\n\n# end\n");
    }

    #[test]
    fn documents_are_separated_and_empty_ones_dropped_unless_commented() {
        let out =
            assert_safe("---\na: 1\n...\n---\n---\n# only a comment\n---\nb: 2\n# last words\n");
        assert_eq!(
            out,
            "a: 1\n---\n# only a comment\n---\nb: 2\n# last words\n"
        );
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("# just this\n"), "# just this\n");
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let out = assert_safe("b:   1\r\nc: [x,y]  # z\r\n");
        assert_eq!(out, "b: 1\r\nc: [x, y] # z\r\n");
    }

    #[test]
    fn multi_line_scalars_are_reindented() {
        let text = "a:\n    b: one\n       two\n\n       three\n    c: \"x\n          y\"\n";
        let out = assert_safe(text);
        assert_eq!(
            out,
            "a:\n  b: one\n    two\n\n    three\n  c: \"x\n    y\"\n"
        );
    }

    #[test]
    fn quoted_keys_and_inline_merge_keys_are_kept() {
        let out =
            assert_safe("\"kind\": Topic\n'name': t\npartitions: 1\nconfig: {<<: {a: 1}, b: 2}\n");
        assert!(out.starts_with("\"kind\": Topic\n'name': t\n"), "{out}");
    }

    #[test]
    fn what_fmt_does_not_rewrite_is_refused_where_it_is() {
        for (text, line, column, what) in [
            ("a: &x 1\nb: *x\n", 1, 4, "anchors"),
            ("a: 1\nb: *x\n", 2, 4, "alias"),
            ("a: !!str 1\n", 1, 4, "tags"),
            (
                "a: [x,\n  # inside\n  y]\n",
                1,
                4,
                "flow collections on one line",
            ),
            ("a: {x: \"one\n  two\"}\n", 1, 8, "spans lines"),
            ("? [a, b]\n: c\n", 1, 3, "keys"),
            ("%YAML 1.2\n---\na: 1\n", 2, 1, "%YAML"),
        ] {
            let d = refusal(text);
            let loc = d.loc.unwrap_or_default();
            assert_eq!((loc.line, loc.column), (line, column), "{text}: {d:?}");
            assert!(d.message.contains(what), "{text}: {d:?}");
        }
    }

    #[test]
    fn invalid_yaml_is_refused_with_the_loader_position() {
        let d = refusal("kind: Table\nname: [T\n");
        assert!(d.message.starts_with("invalid YAML"), "{d:?}");
        assert!(d.loc.is_some_and(|l| l.line >= 2), "{d:?}");
        let d = refusal("a: 1\nb: 2\na: 3\n");
        assert_eq!(d.loc.map(|l| l.line), Some(3), "{d:?}");
    }

    #[test]
    fn the_safety_net_refuses_a_rewrite_that_changes_a_value_or_drops_a_comment() {
        let formatter = Formatter::new();
        let before = node::parse_documents("a: 1 # one\n", 0).unwrap_or_default();
        let comments = vec!["# one".to_string()];
        assert_eq!(
            formatter.check(&before, &comments, "a: 1 # one\n", 0),
            Ok(())
        );
        for (out, why) in [
            ("a: '1' # one\n", "changing a value"),
            ("a: 1\n", "losing a comment"),
            ("a: [1\n", "making it invalid YAML"),
        ] {
            let d = formatter
                .check(&before, &comments, out, 0)
                .expect_err("refused");
            assert!(d.message.ends_with(why), "{out}: {d:?}");
        }
    }

    #[test]
    fn same_node_ignores_positions_and_key_order_only() {
        let parse = |t: &str| node::parse_documents(t, 0).unwrap_or_default();
        let a = parse("x: 1\ny: [a, b]\n");
        assert!(same_node(&a[0], &parse("\n\ny:   [a, b]\nx: 1\n")[0]));
        assert!(!same_node(&a[0], &parse("x: '1'\ny: [a, b]\n")[0]));
        assert!(!same_node(&a[0], &parse("x: 1\ny: [b, a]\n")[0]));
    }
}

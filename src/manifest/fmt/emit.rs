//! Writing the layout tree in the canonical layout: two spaces per level, sequences indented
//! under their key, keys in canonical order, flow collections on one line as `{a: 1, b: [x]}`,
//! scalars as written, one blank line at most where the source had blank lines, `---` between
//! documents.

use serde_json::Value as Json;

use super::order::{Order, scalar_value};
use super::tree::{Block, CommentLine, Document, Node, Notes, Shape, Written, is_empty_plain};

/// Indentation per level.
const INDENT: usize = 2;

/// What a written line is, for placing blank lines and the `- ` of sequence items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Content,
}

/// The lines written so far.
struct Out {
    lines: Vec<(Kind, String)>,
    /// At the start of a block (a document, or the value of a key): no blank line goes here.
    fresh: bool,
}

impl Out {
    fn new() -> Out {
        Out {
            lines: Vec::new(),
            fresh: true,
        }
    }

    /// A blank line, unless at the start of a block or after an empty line (a blank one, or
    /// the last line of a block scalar that keeps its final line breaks).
    fn blank(&mut self) {
        if !self.fresh && self.lines.last().is_some_and(|(_, l)| !l.is_empty()) {
            self.lines.push((Kind::Blank, String::new()));
        }
    }

    fn push(&mut self, kind: Kind, line: String) {
        self.lines.push((kind, line));
        self.fresh = false;
    }

    fn comments(&mut self, comments: &[CommentLine], indent: usize) {
        for c in comments {
            if c.blank_before {
                self.blank();
            }
            self.push(Kind::Comment, format!("{}{}", spaces(indent), c.text));
        }
    }

    /// The comments above an entry, then the blank line before the entry itself.
    fn notes(&mut self, notes: &Notes, indent: usize) {
        self.comments(&notes.leading, indent);
        if notes.blank_before {
            self.blank();
        }
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The file: its documents in the canonical layout, separated by `---`, with one final line
/// break (none for a file with nothing in it).
pub(super) fn file(documents: &[Document], order: &Order) -> String {
    let mut text = String::new();
    let kept = documents.iter().filter(|d| {
        !d.head.is_empty()
            || !d.tail.is_empty()
            || d.root.as_ref().is_some_and(|r| !is_empty_plain(r))
    });
    for (i, doc) in kept.enumerate() {
        if i > 0 {
            text.push_str("---\n");
        }
        for (_, line) in document(doc, order).lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

fn document(doc: &Document, order: &Order) -> Out {
    let mut out = Out::new();
    out.comments(&doc.head, 0);
    if doc.blank_after_head {
        out.blank();
    }
    if let Some(root) = doc.root.as_ref().filter(|r| !is_empty_plain(r)) {
        let schema = order.document(root);
        match &root.shape {
            Shape::Map {
                flow: false,
                entries,
            } => {
                map_entries(&mut out, entries, 0, schema, order);
            }
            Shape::Seq { flow: false, items } => seq_items(&mut out, items, 0, schema, order),
            _ => {
                let head = String::new();
                value(&mut out, head, root, 0, None, schema, order);
            }
        }
    }
    out.comments(&doc.tail, 0);
    out
}

/// The entries of a block mapping at `indent`, known keys first in canonical order.
fn map_entries(
    out: &mut Out,
    entries: &[(Node, Node)],
    indent: usize,
    schema: Option<&Json>,
    order: &Order,
) {
    for (key, val) in ordered(entries, schema, order) {
        out.notes(&key.notes, indent);
        let name = inline_text(key);
        let child = order.entry(schema, scalar_value(key).unwrap_or_default());
        let head = format!("{}{}:", spaces(indent), name);
        value(
            out,
            head,
            val,
            indent,
            key.notes.trailing.as_deref(),
            child,
            order,
        );
    }
}

/// The items of a block sequence at `indent`.
fn seq_items(out: &mut Out, items: &[Node], indent: usize, schema: Option<&Json>, order: &Order) {
    let child = order.item(schema);
    for item in items {
        out.notes(&item.notes, indent);
        item_line(out, item, indent, child, order);
    }
}

/// One sequence item: `- ` then the item, a block collection starting on the same line.
fn item_line(out: &mut Out, item: &Node, indent: usize, schema: Option<&Json>, order: &Order) {
    let trailing = item.notes.trailing.as_deref();
    let inner_indent = indent + INDENT;
    let mut inner = Out::new();
    match &item.shape {
        Shape::Map {
            flow: false,
            entries,
        } => map_entries(&mut inner, entries, inner_indent, schema, order),
        Shape::Seq { flow: false, items } => {
            seq_items(&mut inner, items, inner_indent, schema, order);
        }
        _ => {
            let head = format!("{}-", spaces(indent));
            return value(out, head, item, indent, trailing, schema, order);
        }
    }
    // A comment after a `-` alone on its line goes above the item, with the first entry's.
    if let Some(comment) = trailing {
        out.push(Kind::Comment, format!("{}{comment}", spaces(indent)));
    }
    let mut lines = inner
        .lines
        .into_iter()
        .skip_while(|(k, _)| *k == Kind::Blank);
    for (kind, line) in lines.by_ref() {
        let rest = line.get(inner_indent..).unwrap_or(line.trim_start());
        match kind {
            Kind::Comment => out.push(kind, format!("{}{rest}", spaces(indent))),
            Kind::Blank => {}
            Kind::Content => {
                out.push(kind, format!("{}- {rest}", spaces(indent)));
                break;
            }
        }
    }
    out.lines.extend(lines);
}

/// Writes `head` (`key:` or `-`, indented) followed by the value, `parent` being the column
/// of the key or `-`, and the entry's comment at the end of the right line.
fn value(
    out: &mut Out,
    head: String,
    node: &Node,
    parent: usize,
    trailing: Option<&str>,
    schema: Option<&Json>,
    order: &Order,
) {
    let sep = if head.is_empty() { "" } else { " " };
    let with_comment = |line: String| match trailing {
        Some(c) => format!("{line} {c}"),
        None => line,
    };
    match &node.shape {
        Shape::Scalar(s) => match &s.written {
            Written::Inline(lines) => {
                let first = lines.first().map(String::as_str).unwrap_or_default();
                let mut written: Vec<String> = Vec::with_capacity(lines.len());
                written.push(if first.is_empty() {
                    head
                } else {
                    format!("{head}{sep}{first}")
                });
                let continuation = parent + INDENT;
                written.extend(lines.iter().skip(1).map(|l| {
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("{}{l}", spaces(continuation))
                    }
                }));
                let last = written.len() - 1;
                for (i, line) in written.into_iter().enumerate() {
                    let line = if i == last { with_comment(line) } else { line };
                    // Empty lines inside a scalar are content, never merged or dropped.
                    out.push(Kind::Content, line);
                }
            }
            Written::Block(block) => {
                out.push(
                    Kind::Content,
                    with_comment(format!("{head}{sep}{}", block.header)),
                );
                for line in block_lines(block, parent) {
                    out.lines.push((Kind::Content, line));
                }
            }
        },
        Shape::Map { flow: true, .. } | Shape::Seq { flow: true, .. } => {
            let text = flow(node, schema, order);
            out.push(Kind::Content, with_comment(format!("{head}{sep}{text}")));
        }
        Shape::Map {
            flow: false,
            entries,
        } => {
            out.push(Kind::Content, with_comment(head));
            out.fresh = true;
            map_entries(out, entries, parent + INDENT, schema, order);
        }
        Shape::Seq { flow: false, items } => {
            out.push(Kind::Content, with_comment(head));
            out.fresh = true;
            seq_items(out, items, parent + INDENT, schema, order);
        }
    }
}

/// A block scalar's content lines moved to their canonical indentation: two more than the
/// key or `-` (or, with an indentation indicator, that many more), every line shifted alike
/// so the content is exactly the same.
fn block_lines(block: &Block, parent: usize) -> Vec<String> {
    let indent = parent + block.indicator.unwrap_or(INDENT);
    block
        .lines
        .iter()
        .map(|line| {
            let content = line.get(block.indent..).unwrap_or_default();
            let blank_margin = line.len() <= block.indent && line.trim().is_empty();
            if blank_margin || content.is_empty() {
                String::new()
            } else {
                format!("{}{content}", spaces(indent))
            }
        })
        .collect()
}

/// A flow collection on one line, with `, ` between items and `: ` after keys.
fn flow(node: &Node, schema: Option<&Json>, order: &Order) -> String {
    match &node.shape {
        Shape::Map { entries, .. } => {
            let parts: Vec<String> = ordered(entries, schema, order)
                .into_iter()
                .map(|(k, v)| {
                    let child = order.entry(schema, scalar_value(k).unwrap_or_default());
                    if is_empty_plain(v) {
                        inline_text(k).to_string()
                    } else {
                        format!("{}: {}", inline_text(k), flow(v, child, order))
                    }
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Shape::Seq { items, .. } => {
            let child = order.item(schema);
            let parts: Vec<String> = items.iter().map(|i| flow(i, child, order)).collect();
            format!("[{}]", parts.join(", "))
        }
        Shape::Scalar(_) => inline_text(node).to_string(),
    }
}

/// The text of a one-line scalar as written.
fn inline_text(node: &Node) -> &str {
    match &node.shape {
        Shape::Scalar(s) => match &s.written {
            Written::Inline(lines) => lines.first().map(String::as_str).unwrap_or_default(),
            Written::Block(b) => &b.header,
        },
        _ => "",
    }
}

/// The entries of a mapping in canonical order: known keys by their field's position, the
/// others after them as written.
fn ordered<'n>(
    entries: &'n [(Node, Node)],
    schema: Option<&Json>,
    order: &Order,
) -> Vec<&'n (Node, Node)> {
    let mut sorted: Vec<&(Node, Node)> = entries.iter().collect();
    sorted.sort_by_key(|(k, _)| order.rank(schema, scalar_value(k).unwrap_or_default()));
    sorted
}

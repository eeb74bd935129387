//! Giving every comment to the entry it belongs to, so that it moves with that entry when keys
//! are put in order.
//!
//! A comment at the end of a line belongs to the innermost entry written on that line; a
//! comment on a line of its own belongs to the entry that follows it. Comments above a
//! document's first entry are the document's header (they stay first), comments after its
//! last entry its tail. Blank lines before entries and comments are remembered the same way.

use super::tree::{Comment, CommentLine, Document, Node, Notes, Parsed, Shape, Source, Written};
use crate::diagnostics::Diagnostic;

/// Where an entry of a block collection is written.
struct Span {
    /// Its first line.
    line: usize,
    /// The last line a comment at the end of a line can belong to it from.
    own_end: usize,
}

/// Attaches the comments of `parsed` to its documents' entries; a comment inside a flow
/// collection that spans lines is refused (flow collections are written on one line).
pub(super) fn attach(parsed: &mut Parsed, source: &Source<'_>) -> Result<(), Diagnostic> {
    if let Some((comment, loc)) = parsed.comments.iter().find_map(|c| {
        parsed
            .flows
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&c.byte))
            .map(|(_, _, loc)| (c, *loc))
    }) {
        return Err(Diagnostic::at(
            loc,
            format!(
                "kustoplan fmt writes flow collections on one line, and this one holds the comment on line {}",
                comment.line
            ),
        )
        .hint("the file is left as it is; move the comment above the collection, or write it in block style"));
    }
    if parsed.documents.is_empty() && !parsed.comments.is_empty() {
        parsed.documents.push(Document::default());
    }
    let starts: Vec<usize> = parsed.documents.iter().map(|d| d.start).collect();
    let mut by_document: Vec<Vec<&Comment>> = starts.iter().map(|_| Vec::new()).collect();
    for comment in &parsed.comments {
        let index = starts
            .partition_point(|s| *s <= comment.byte)
            .saturating_sub(1);
        if let Some(list) = by_document.get_mut(index) {
            list.push(comment);
        }
    }
    for (doc, comments) in parsed.documents.iter_mut().zip(by_document) {
        attach_to_document(doc, &comments, source);
    }
    Ok(())
}

fn attach_to_document(doc: &mut Document, comments: &[&Comment], source: &Source<'_>) {
    let mut spans = Vec::new();
    if let Some(root) = &doc.root {
        entry_spans(root, &mut spans);
    }
    let mut notes: Vec<Notes> = spans
        .iter()
        .map(|s| Notes {
            blank_before: source.is_blank(s.line.saturating_sub(1)),
            ..Notes::default()
        })
        .collect();
    for comment in comments {
        if !comment.own_line {
            let owner = spans
                .iter()
                .rposition(|s| s.line <= comment.line && comment.line <= s.own_end);
            if let Some(note) = owner.and_then(|i| notes.get_mut(i))
                && note.trailing.is_none()
            {
                note.trailing = Some(comment.text.clone());
                continue;
            }
        }
        let line = CommentLine {
            blank_before: comment.own_line && source.is_blank(comment.line.saturating_sub(1)),
            text: comment.text.clone(),
        };
        match spans.iter().position(|s| s.line > comment.line) {
            Some(i) => notes[i].leading.push(line),
            None => doc.tail.push(line),
        }
    }
    if let Some(first) = notes.first_mut() {
        doc.head = std::mem::take(&mut first.leading);
        doc.blank_after_head = !doc.head.is_empty() && first.blank_before;
        first.blank_before = false;
    }
    if let Some(root) = &mut doc.root {
        let mut notes = notes.into_iter();
        give_notes(root, &mut notes);
    }
}

/// The entries of block collections under `node`, in the order they are written (an entry
/// before the entries inside its value).
fn entry_spans(node: &Node, out: &mut Vec<Span>) {
    match &node.shape {
        Shape::Map {
            flow: false,
            entries,
        } => {
            for (key, value) in entries {
                out.push(Span {
                    line: key.line,
                    own_end: own_end(key.line, value),
                });
                entry_spans(value, out);
            }
        }
        Shape::Seq { flow: false, items } => {
            for item in items {
                out.push(Span {
                    line: item.line,
                    own_end: own_end(item.line, item),
                });
                entry_spans(item, out);
            }
        }
        _ => {}
    }
}

/// The last line of an entry starting on `line` with this value that a comment at the end of
/// a line belongs to: the value's last line, or the entry's first when the value is a block
/// collection or a block scalar (whose lines hold no comments).
fn own_end(line: usize, value: &Node) -> usize {
    match &value.shape {
        Shape::Map { flow: false, .. } | Shape::Seq { flow: false, .. } => line,
        Shape::Scalar(s) if matches!(s.written, Written::Block(_)) => value.line,
        _ => value.end_line.max(line),
    }
}

/// Hands out the notes in the order [`entry_spans`] listed the entries.
fn give_notes(node: &mut Node, notes: &mut impl Iterator<Item = Notes>) {
    match &mut node.shape {
        Shape::Map {
            flow: false,
            entries,
        } => {
            for (key, value) in entries {
                key.notes = notes.next().unwrap_or_default();
                give_notes(value, notes);
            }
        }
        Shape::Seq { flow: false, items } => {
            for item in items {
                let mine = notes.next().unwrap_or_default();
                give_notes(item, notes);
                item.notes = mine;
            }
        }
        _ => {}
    }
}

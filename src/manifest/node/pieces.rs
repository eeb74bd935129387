//! One large file of many documents (a generated stack of thousands of tables) read on every
//! core: cut at document-start lines into one piece per core, each piece read by the fast
//! reader on its own thread, and the pieces' locations moved down by the lines before them.
//!
//! Only the fast reader reads pieces, and only when every piece reads: anything it gives up on
//! (anchors, directives, multi-line scalars, CR, errors) sends the whole file the usual way, so
//! documents, locations and errors never depend on where the file was cut. Session 8 measured
//! no gain from this with glibc's malloc held to one arena (the threads queued on its lock);
//! with mimalloc the large file's parse is halved on two cores (BENCHMARKS.md, session 10).

use super::events::{Builder, Limits};
use super::{Node, Value, fast};

/// Files smaller than this are read in one piece: a thread would cost more than it saves.
const SPLIT_FROM: usize = 256 * 1024;

/// At most this many pieces (and threads) per file.
const MAX_PIECES: usize = 16;

/// The documents of `text`, read in pieces on every core; `None` when the file is small, has
/// too few documents to cut, or any piece is not one the fast reader reads whole.
pub(super) fn read(text: &str, file: u32) -> Option<Vec<Node>> {
    if text.len() < SPLIT_FROM {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    read_in(text, file, cores.min(MAX_PIECES))
}

/// [`read`] in up to `pieces` pieces, whatever the file's size (the tests cut small files).
fn read_in(text: &str, file: u32, pieces: usize) -> Option<Vec<Node>> {
    if pieces < 2 {
        return None;
    }
    let cuts = cut_points(text, pieces)?;
    let mut parts = Vec::with_capacity(cuts.len() + 1);
    let mut from = (0, 0);
    for &(at, lines) in &cuts {
        parts.push((&text[from.0..at], from.1));
        from = (at, lines);
    }
    parts.push((&text[from.0..], from.1));
    let read_piece = |(piece, lines_before): (&str, u32)| {
        let mut docs = fast::read(piece, Builder::new(piece, file, Limits::MANIFEST)).ok()?;
        let mut nodes = 0;
        for doc in &mut docs {
            nodes += move_down(doc, lines_before);
        }
        Some((docs, nodes))
    };
    let mut rest = parts.into_iter();
    let first = rest.next()?;
    let read: Vec<Option<(Vec<Node>, usize)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = rest
            .map(|part| scope.spawn(move || read_piece(part)))
            .collect();
        let mut read = vec![read_piece(first)];
        read.extend(workers.into_iter().map(crate::threads::joined));
        read
    });
    let mut docs = Vec::new();
    let mut nodes = 0;
    for piece in read {
        let (piece_docs, piece_nodes) = piece?;
        nodes += piece_nodes;
        docs.extend(piece_docs);
    }
    // Each piece had the whole file's budget: over it together, the whole-file read reports
    // the node that passes it.
    (nodes <= Limits::MANIFEST.max_nodes).then_some(docs)
}

/// Moves `node` and everything under it `lines` lines down; returns how many nodes it moved.
fn move_down(node: &mut Node, lines: u32) -> usize {
    if lines > 0 && node.loc.line > 0 {
        node.loc.line = node.loc.line.saturating_add(lines);
    }
    match &mut node.value {
        Value::Seq(items) => 1 + items.iter_mut().map(|n| move_down(n, lines)).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter_mut()
                .map(|(k, v)| move_down(k, lines) + move_down(v, lines))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Where to cut `text` into about `pieces` pieces of similar size: (byte offset, lines before
/// it) of document-start lines (`---` at column 0, alone or before a space or tab), which
/// YAML allows nowhere inside a scalar or collection, so each piece is a run of whole
/// documents, and anchors, which live within a document, never cross a cut. `None` when there
/// are too few document starts to cut at.
fn cut_points(text: &str, pieces: usize) -> Option<Vec<(usize, u32)>> {
    let step = text.len() / pieces;
    let mut cuts = Vec::with_capacity(pieces - 1);
    let mut next = step;
    let (mut at, mut lines) = (0usize, 0u32);
    for line in text.split_inclusive('\n') {
        let bytes = line.as_bytes();
        if at >= next
            && cuts.len() + 1 < pieces
            && bytes.starts_with(b"---")
            && matches!(bytes.get(3), None | Some(b' ' | b'\t' | b'\n'))
        {
            cuts.push((at, lines));
            next = at + step;
        }
        at += line.len();
        lines = lines.checked_add(1)?;
    }
    (!cuts.is_empty()).then_some(cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of many documents in shapes near a cut: no `---` before the first document,
    /// content and comments after `---`, literal block scalars, one-line flow collections,
    /// quoted scalars, blank lines and comments between documents.
    fn many_documents(n: usize) -> String {
        let mut text = String::from("# a stack\nkind: Table\nname: First\n");
        for i in 0..n {
            text.push_str(&match i % 4 {
                0 => format!("---\nkind: Table\nname: T{i}\ncolumns: [{{name: A, type: long}}]\n"),
                1 => format!("--- # doc {i}\nkind: Function\nname: F{i}\nbody: |\n  T{i}\n  | take 1\n"),
                2 => format!("---\n\n# comment\nkind: Table\nname: \"Q {i}\"\nfolder: 'f''{i}'\n"),
                _ => format!("---\nkind: Table\nname: S{i}\nmappings:\n  - name: m\n    columns:\n      - {{column: A, path: $.a}}\n"),
            });
        }
        text
    }

    #[test]
    fn pieces_give_the_whole_files_documents_and_locations() {
        let text = many_documents(97);
        let whole = fast::read(&text, Builder::new(&text, 7, Limits::MANIFEST)).expect("whole");
        for pieces in [2, 3, 5, 16] {
            let cut = read_in(&text, 7, pieces).expect("read in pieces");
            assert_eq!(cut, whole, "{pieces} pieces");
        }
    }

    #[test]
    fn a_piece_the_fast_reader_gives_up_on_sends_the_whole_file_the_usual_way() {
        let mut text = many_documents(40);
        text.push_str("---\nkind: Table\nname: &a anchored\nfolder: *a\n");
        assert_eq!(read_in(&text, 0, 4), None);
        let broken = format!("{}---\nkind: [unclosed\n", many_documents(40));
        assert_eq!(read_in(&broken, 0, 4), None);
    }

    #[test]
    fn cuts_are_at_document_starts_only() {
        let text = "a: 1\n---\nb: |\n  ---x\n---text: 2\n--- \nc: 3\n---\td: 4\n";
        let cuts = cut_points(text, 8).expect("cuts");
        for (at, lines) in &cuts {
            assert!(text[*at..].starts_with("---"));
            assert_eq!(text[..*at].matches('\n').count() as u32, *lines);
        }
        assert!(
            !cuts
                .iter()
                .any(|(at, _)| text[*at..].starts_with("---text"))
        );
        assert_eq!(cut_points("a: 1\nb: 2\n", 4), None);
    }
}

//! The layout tree `fmt` rewrites: every node as it is written (scalars as their source text),
//! where it is, and the comments of the file, read from the parser's events.
//!
//! Constructs whose text cannot be moved safely are refused with their position: anchors,
//! aliases, tags, `%` directives, keys that are not one-line scalars, scalars that span lines
//! inside a flow collection, and comments inside a flow collection.

use granit_parser::{Event, Marker, Options, Parser, ScalarStyle, Span, StructureStyle};

use super::super::node::Loc;
use crate::diagnostics::Diagnostic;

/// One document of the file.
#[derive(Debug, Default)]
pub(super) struct Document {
    /// Byte offset where the document starts (its `---`, or its first node).
    pub start: usize,
    /// The root node; `None` for an empty document.
    pub root: Option<Node>,
    /// Comments above the document's first entry: its header, which stays first.
    pub head: Vec<CommentLine>,
    /// Whether a blank line separates the header from the first entry.
    pub blank_after_head: bool,
    /// Comments after the document's last entry.
    pub tail: Vec<CommentLine>,
}

/// A comment on a line of its own.
#[derive(Debug)]
pub(super) struct CommentLine {
    /// Whether a blank line precedes it.
    pub blank_before: bool,
    /// `#` and the text after it, without trailing blanks.
    pub text: String,
}

/// A node as written.
#[derive(Debug)]
pub(super) struct Node {
    /// First line (1-based); for a block scalar, the line of its `|` or `>` header.
    pub line: usize,
    /// Last line.
    pub end_line: usize,
    /// Where the node starts, for messages.
    pub loc: Loc,
    /// What it is.
    pub shape: Shape,
    /// The comments and blank lines of the entry this node starts (a mapping key, or a sequence
    /// item); empty for other nodes.
    pub notes: Notes,
}

/// The comments and blank line that go with an entry of a block collection.
#[derive(Debug, Default)]
pub(super) struct Notes {
    /// Full-line comments above the entry.
    pub leading: Vec<CommentLine>,
    /// Whether a blank line separates the entry (or its first comment) from what comes before.
    pub blank_before: bool,
    /// The comment at the end of the entry's line.
    pub trailing: Option<String>,
}

/// The kind of a node.
#[derive(Debug)]
pub(super) enum Shape {
    /// A scalar.
    Scalar(Scalar),
    /// A mapping, in written order.
    Map {
        /// Written `{...}`.
        flow: bool,
        /// Keys and values.
        entries: Vec<(Node, Node)>,
    },
    /// A sequence.
    Seq {
        /// Written `[...]`.
        flow: bool,
        /// Items.
        items: Vec<Node>,
    },
}

/// A scalar: its value (to match keys with the schema) and its source text.
#[derive(Debug)]
pub(super) struct Scalar {
    /// The value after quoting and escapes.
    pub value: String,
    /// How it is written.
    pub written: Written,
}

/// The source text of a scalar.
#[derive(Debug)]
pub(super) enum Written {
    /// Plain or quoted: its lines, continuation lines without their indentation. An empty
    /// plain scalar (`key:`) is one empty line.
    Inline(Vec<String>),
    /// Literal (`|`) or folded (`>`).
    Block(Block),
}

/// A block scalar: header and content lines exactly as written.
#[derive(Debug)]
pub(super) struct Block {
    /// `|`, `>-`, `|2+`, ...
    pub header: String,
    /// The explicit indentation indicator, if any.
    pub indicator: Option<usize>,
    /// The content's indentation in the source.
    pub indent: usize,
    /// Content lines as written (with their indentation), trailing blank lines left out
    /// unless the scalar keeps them (`+`).
    pub lines: Vec<String>,
}

/// A comment of the file.
#[derive(Debug)]
pub(super) struct Comment {
    /// 1-based line.
    pub line: usize,
    /// Byte offset of its `#`.
    pub byte: usize,
    /// Whether only blanks precede it on its line.
    pub own_line: bool,
    /// `#` and the text after it, without trailing blanks.
    pub text: String,
}

/// What reading a file gives.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// The documents, in order.
    pub documents: Vec<Document>,
    /// Every comment, in order.
    pub comments: Vec<Comment>,
    /// Byte ranges of the flow collections that span lines, where no comment may stand.
    pub flows: Vec<(usize, usize, Loc)>,
}

/// The text of a file, by lines.
pub(super) struct Source<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Source<'t> {
    /// Indexes the lines of `text` (line breaks are `\n`).
    pub fn new(text: &'t str) -> Source<'t> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, starts }
    }

    /// Line `n` (1-based) without its line break; empty past the end.
    pub fn line(&self, n: usize) -> &'t str {
        let Some(&start) = n.checked_sub(1).and_then(|i| self.starts.get(i)) else {
            return "";
        };
        let end = self.starts.get(n).map_or(self.text.len(), |e| e - 1);
        self.text.get(start..end).unwrap_or_default()
    }

    /// Whether line `n` exists and holds only blanks.
    pub fn is_blank(&self, n: usize) -> bool {
        n >= 1 && n <= self.starts.len() && self.line(n).trim().is_empty()
    }

    /// Number of lines (a final line break starts an empty last line).
    fn lines(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset of a parser position.
    fn offset(&self, mark: &Marker) -> usize {
        mark.byte_offset().unwrap_or_else(|| {
            let start = self
                .starts
                .get(mark.line().saturating_sub(1))
                .copied()
                .unwrap_or(self.text.len());
            self.text[start..]
                .char_indices()
                .nth(mark.col())
                .map_or(self.text.len(), |(i, _)| start + i)
        })
    }
}

/// A collection whose items are still being read.
struct Open {
    flow: bool,
    line: usize,
    start: usize,
    loc: Loc,
    entries: Vec<(Node, Node)>,
    key: Option<Node>,
    items: Vec<Node>,
    map: bool,
}

/// Reads the documents and comments of `text` (already a valid YAML file), `file` being its
/// index for positions.
pub(super) fn read(text: &str, file: u32) -> Result<Parsed, Diagnostic> {
    let source = Source::new(text);
    let mut reader = Reader {
        source: &source,
        file,
        open: Vec::new(),
        parsed: Parsed::default(),
    };
    let mut options = Options::default();
    options.set_emit_comments(true);
    // A long commented-out block is many consecutive comments; the file's size bounds them.
    options.max_buffered_comment_events = usize::MAX;
    // Anchors are refused where their `&name` is written.
    options.emit_anchor_events = true;
    for next in Parser::new_from_str_with_options(text, options) {
        let (event, span) = next.map_err(|e| {
            let at = e.marker();
            Diagnostic::at(
                Loc {
                    file,
                    line: u32::try_from(at.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(at.col() + 1).unwrap_or(u32::MAX),
                },
                format!("invalid YAML: {}", e.info().lines().next().unwrap_or("")),
            )
        })?;
        reader.event(event, span)?;
    }
    Ok(reader.parsed)
}

/// Builds the documents from the parser's events, collection by collection.
struct Reader<'s, 't> {
    source: &'s Source<'t>,
    file: u32,
    open: Vec<Open>,
    parsed: Parsed,
}

impl Reader<'_, '_> {
    fn loc(&self, mark: &Marker) -> Loc {
        Loc {
            file: self.file,
            line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
            column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
        }
    }

    fn refuse(&self, mark: &Marker, what: &str) -> Diagnostic {
        Diagnostic::at(
            self.loc(mark),
            format!("kustoplan fmt does not rewrite files with {what}"),
        )
        .hint("the file is left as it is; format it by hand, or write it without this")
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(_, version) => {
                if version.is_some() {
                    return Err(self.refuse(&span.start, "a `%YAML` directive"));
                }
                let start = self.source.offset(&span.start);
                self.parsed.documents.push(Document {
                    start,
                    ..Document::default()
                });
            }
            Event::Comment(_, _) => self.comment(&span),
            Event::Alias(_) => return Err(self.refuse(&span.start, "aliases (`*name`)")),
            Event::Anchor(_, _) => return Err(self.refuse(&span.start, "anchors (`&name`)")),
            Event::Scalar(value, style, _, tag) => {
                if tag.is_some() {
                    let at = span.tag_start.unwrap_or(span.start);
                    return Err(self.refuse(&at, "tags (`!!str`, `!name`)"));
                }
                let node = self.scalar(value.into_owned(), style, &span)?;
                self.complete(node)?;
            }
            Event::SequenceStart(style, _, tag) => {
                self.open_collection(false, style, tag.is_some(), &span)?;
            }
            Event::MappingStart(style, _, tag) => {
                self.open_collection(true, style, tag.is_some(), &span)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(&span)?,
            _ => {}
        }
        Ok(())
    }

    fn source_char(&self, mark: &Marker) -> Option<char> {
        let at = self.source.offset(mark);
        self.source.text.get(at..)?.chars().next()
    }

    fn open_collection(
        &mut self,
        map: bool,
        style: StructureStyle,
        tagged: bool,
        span: &Span,
    ) -> Result<(), Diagnostic> {
        if tagged {
            let at = span.tag_start.unwrap_or(span.start);
            return Err(self.refuse(&at, "tags (`!!map`, `!name`)"));
        }
        self.open.push(Open {
            flow: style == StructureStyle::Flow,
            line: span.start.line(),
            start: self.source.offset(&span.start),
            loc: self.loc(&span.start),
            entries: Vec::new(),
            key: None,
            items: Vec::new(),
            map,
        });
        Ok(())
    }

    fn comment(&mut self, span: &Span) {
        let byte = self.source.offset(&span.start);
        let line = span.start.line();
        let before = self
            .source
            .line(line)
            .chars()
            .take(span.start.col())
            .collect::<String>();
        let end = self.source.offset(&span.end);
        let text = self
            .source
            .text
            .get(byte..end)
            .unwrap_or_default()
            .trim_end()
            .to_string();
        self.parsed.comments.push(Comment {
            line,
            byte,
            own_line: before.trim().is_empty(),
            text,
        });
    }

    fn scalar(&self, value: String, style: ScalarStyle, span: &Span) -> Result<Node, Diagnostic> {
        let loc = self.loc(&span.start);
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            return self.block(value, span);
        }
        let start = self.source.offset(&span.start);
        let end = self.source.offset(&span.end);
        let written = self.source.text.get(start..end).unwrap_or_default();
        let lines = if style == ScalarStyle::Plain && value.is_empty() {
            vec![String::new()]
        } else {
            inline_lines(written, style == ScalarStyle::DoubleQuoted)
        };
        let end_line = span.start.line() + lines.len() - 1;
        Ok(Node {
            line: span.start.line(),
            end_line,
            loc,
            shape: Shape::Scalar(Scalar {
                value,
                written: Written::Inline(lines),
            }),
            notes: Notes::default(),
        })
    }

    /// A block scalar: the parser's span starts at its first content line (or at its header
    /// when it has no content), so the header is found on the last non-blank line before.
    fn block(&self, value: String, span: &Span) -> Result<Node, Diagnostic> {
        let at_header = matches!(self.source_char(&span.start), Some('|' | '>'));
        let mut header_line = span.start.line();
        if !at_header {
            header_line = header_line.saturating_sub(1);
            while header_line > 1 && self.source.is_blank(header_line) {
                header_line -= 1;
            }
        }
        // The header is the first word of its line made of `|` or `>` and indicators: keys
        // and `-` come before it, a comment after it.
        let header = self
            .source
            .line(header_line)
            .split_whitespace()
            .find(|w| {
                w.starts_with(['|', '>'])
                    && w[1..]
                        .chars()
                        .all(|c| c == '+' || c == '-' || c.is_ascii_digit())
            })
            .ok_or_else(|| {
                Diagnostic::at(
                    self.loc(&span.start),
                    "kustoplan fmt cannot find this block scalar's `|` or `>` header",
                )
                .hint("put the header at the end of the line that introduces the value")
            })?
            .to_string();
        let indicator = header
            .chars()
            .find_map(|c| c.to_digit(10))
            .map(|d| d as usize);
        let keep = header.contains('+');
        let last = if self.source.offset(&span.end) >= self.source.text.len() {
            self.source.lines()
        } else {
            span.end.line().saturating_sub(1)
        };
        let mut lines: Vec<String> = (header_line + 1..=last)
            .map(|n| self.source.line(n).to_string())
            .collect();
        if !keep {
            while lines.last().is_some_and(|l| l.trim().is_empty()) {
                lines.pop();
            }
        } else if self.source.text.ends_with('\n')
            && last == self.source.lines()
            && lines.last().is_some_and(String::is_empty)
        {
            lines.pop();
        }
        let indent = span.indent.unwrap_or(0);
        let end_line = header_line + lines.len();
        Ok(Node {
            line: header_line,
            end_line,
            loc: self.loc(&span.start),
            shape: Shape::Scalar(Scalar {
                value,
                written: Written::Block(Block {
                    header,
                    indicator,
                    indent,
                    lines,
                }),
            }),
            notes: Notes::default(),
        })
    }

    fn close(&mut self, span: &Span) -> Result<(), Diagnostic> {
        let Some(open) = self.open.pop() else {
            return Ok(());
        };
        let children_end = open
            .entries
            .iter()
            .map(|(_, v)| v.end_line)
            .chain(open.items.iter().map(|i| i.end_line))
            .max()
            .unwrap_or(open.line);
        let end_line = if open.flow {
            span.end.line()
        } else {
            children_end
        };
        if open.flow && end_line != open.line {
            let end = self.source.offset(&span.end);
            self.parsed.flows.push((open.start, end, open.loc));
        }
        let shape = if open.map {
            Shape::Map {
                flow: open.flow,
                entries: open.entries,
            }
        } else {
            Shape::Seq {
                flow: open.flow,
                items: open.items,
            }
        };
        let node = Node {
            line: open.line,
            end_line,
            loc: open.loc,
            shape,
            notes: Notes::default(),
        };
        self.complete(node)
    }

    /// Attaches a finished node to the open collection, or makes it the document's root.
    fn complete(&mut self, mut node: Node) -> Result<(), Diagnostic> {
        let in_flow = self.open.last().is_some_and(|o| o.flow);
        if in_flow && node.end_line != node.line && matches!(node.shape, Shape::Scalar(_)) {
            return Err(Diagnostic::at(
                node.loc,
                "kustoplan fmt writes flow collections on one line, and this scalar spans lines",
            )
            .hint("the file is left as it is; write the scalar on one line, or the collection in block style"));
        }
        let Some(parent) = self.open.last_mut() else {
            if let Some(doc) = self.parsed.documents.last_mut() {
                doc.root = Some(node);
            }
            return Ok(());
        };
        if !parent.map {
            parent.items.push(node);
            return Ok(());
        }
        match parent.key.take() {
            None => {
                let one_line_scalar = matches!(
                    &node.shape,
                    Shape::Scalar(Scalar { written: Written::Inline(lines), .. }) if lines.len() == 1
                );
                if !one_line_scalar {
                    return Err(Diagnostic::at(
                        node.loc,
                        "kustoplan fmt does not rewrite files with keys that are not one-line scalars",
                    )
                    .hint("the file is left as it is; manifests only need plain keys"));
                }
                parent.key = Some(node);
            }
            Some(key) => {
                if is_empty_plain(&node) {
                    node.line = key.line;
                    node.end_line = key.line;
                }
                parent.entries.push((key, node));
            }
        }
        Ok(())
    }
}

/// Whether a node is the empty plain scalar of `key:` or `-` with nothing after.
pub(super) fn is_empty_plain(node: &Node) -> bool {
    matches!(&node.shape, Shape::Scalar(Scalar { written: Written::Inline(lines), .. }) if lines.len() == 1 && lines[0].is_empty())
}

/// The lines of a plain or quoted scalar: continuation lines lose their indentation (YAML
/// folding ignores it), and every line its trailing blanks, except before an escaped line
/// break of a double-quoted scalar.
fn inline_lines(written: &str, double_quoted: bool) -> Vec<String> {
    written
        .split('\n')
        .enumerate()
        .map(|(i, line)| {
            let line = if i == 0 {
                line
            } else {
                line.trim_start_matches([' ', '\t'])
            };
            let trimmed = line.trim_end_matches([' ', '\t']);
            if double_quoted && trimmed.ends_with('\\') {
                line.to_string()
            } else {
                trimmed.to_string()
            }
        })
        .collect()
}

//! A fast reader for the plain YAML that manifests are written in.
//!
//! Manifests are almost always block mappings and sequences of plain and quoted scalars, with
//! one-line flow collections (`columns: [{name: Id, type: long}]`) and literal block scalars
//! (`body: |`). This reader handles exactly that, straight from the bytes, and feeds the same
//! [`Builder`] as the full parser with the same locations, so the nodes are identical. It is
//! several times faster than the general parser, which was most of a large plan's CPU time.
//!
//! Anything else (anchors, aliases, tags, folded or kept block scalars, flow collections or
//! plain scalars over several lines, tabs, directives, explicit keys) and anything that is not
//! valid YAML makes it give up on the whole file, and the full parser reads the file instead
//! and words the errors. So it never decides what a file means on its own: a unit test compares
//! both readers on every manifest in the repository and on generated and mutated documents.

use std::borrow::Cow;

use granit_parser::ScalarStyle;

use super::events::Builder;
use super::{Loc, Node};

/// The fast reader gave up: the file uses YAML it does not read, is not valid YAML, or the
/// builder refused it. The full parser reads the file instead.
#[derive(Debug)]
pub(super) struct GaveUp;

type Fast<T> = Result<T, GaveUp>;

/// Keys longer than this are not implicit keys in YAML; such a line is left to the full parser.
const MAX_KEY: usize = 1024;

/// Every non-empty document of `text`, or [`GaveUp`].
pub(super) fn read<'t>(text: &'t str, mut builder: Builder<'t>) -> Fast<Vec<Node>> {
    if !plain_characters(text) {
        return Err(GaveUp);
    }
    let mut reader = Reader {
        text,
        b: text.as_bytes(),
        line_start: 0,
        line_end: 0,
        line: 1,
        builder: &mut builder,
    };
    reader.line_end = reader.find_line_end(0);
    reader.stream()?;
    Ok(builder.into_documents())
}

/// Whether the text has only characters the reader handles: no tabs, carriage returns or
/// other control characters, no byte-order mark, and no non-ASCII character that YAML treats
/// specially (line and paragraph separators, non-printable ones).
fn plain_characters(text: &str) -> bool {
    let bytes_ok = !text.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f);
    bytes_ok
        && (text.is_ascii()
            || text.chars().all(|c| {
                c.is_ascii()
                    || (c >= '\u{a0}'
                        && !matches!(
                            c,
                            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                        ))
            }))
}

/// What the next line that is not blank or a comment holds.
enum Line {
    /// The end of the file.
    End,
    /// A `---` document marker.
    Document,
    /// Content starting at byte `pos`, indented `indent` spaces.
    Content { pos: usize, indent: usize },
}

/// A scalar read from the text, with where it ends.
struct Scalar<'t> {
    text: Cow<'t, str>,
    style: ScalarStyle,
    /// The byte after it.
    end: usize,
}

struct Reader<'t, 'b> {
    text: &'t str,
    b: &'t [u8],
    /// Byte offset of the current line's first byte.
    line_start: usize,
    /// Byte offset of the current line's `\n` (or the end of the text).
    line_end: usize,
    /// 1-based number of the current line.
    line: usize,
    builder: &'b mut Builder<'t>,
}

/// Characters that cannot start a plain scalar (YAML's indicators), `-` aside.
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'?' | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'t> Reader<'t, '_> {
    fn find_line_end(&self, from: usize) -> usize {
        self.b[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |i| from + i)
    }

    /// Moves to the next line.
    fn next_line(&mut self) {
        if self.line_end >= self.b.len() {
            self.line_start = self.b.len();
            self.line_end = self.b.len();
            return;
        }
        self.line_start = self.line_end + 1;
        self.line_end = self.find_line_end(self.line_start);
        self.line += 1;
    }

    fn at_end(&self) -> bool {
        self.line_start >= self.b.len()
    }

    /// The byte at `pos` on the current line, `None` at the line's end.
    fn byte(&self, pos: usize) -> Option<u8> {
        (pos < self.line_end).then(|| self.b[pos])
    }

    fn skip_spaces(&self, mut pos: usize) -> usize {
        while self.byte(pos) == Some(b' ') {
            pos += 1;
        }
        pos
    }

    /// Where byte `pos` of the current line is, as the full parser counts (characters).
    fn loc(&self, pos: usize) -> Loc {
        let before = &self.text[self.line_start..pos];
        let column = if before.is_ascii() {
            before.len()
        } else {
            before.chars().count()
        };
        self.builder.at(self.line, column)
    }

    /// Whether the rest of the line from `pos` is blank or a comment; `spaced` says whether
    /// a space precedes `pos` (a `#` starts a comment only after one).
    fn rest_is_blank(&self, pos: usize, spaced: bool) -> bool {
        let p = self.skip_spaces(pos);
        match self.byte(p) {
            None => true,
            Some(b'#') => spaced || p > pos,
            Some(_) => false,
        }
    }

    /// Skips blank and comment lines, and says what the next line holds.
    fn peek(&mut self) -> Fast<Line> {
        loop {
            if self.at_end() {
                return Ok(Line::End);
            }
            let line = &self.b[self.line_start..self.line_end];
            if line.starts_with(b"---") || line.starts_with(b"...") || line.starts_with(b"%") {
                let marker =
                    line.starts_with(b"---") && self.rest_is_blank(self.line_start + 3, false);
                return if marker {
                    Ok(Line::Document)
                } else {
                    Err(GaveUp)
                };
            }
            let pos = self.skip_spaces(self.line_start);
            match self.byte(pos) {
                None | Some(b'#') => self.next_line(),
                Some(_) => {
                    return Ok(Line::Content {
                        pos,
                        indent: pos - self.line_start,
                    });
                }
            }
        }
    }

    fn stream(&mut self) -> Fast<()> {
        let mut explicit = false;
        loop {
            match self.peek()? {
                Line::End => return Ok(()),
                Line::Document if explicit => {
                    // An empty document between two markers.
                    self.next_line();
                }
                Line::Document => {
                    explicit = true;
                    self.next_line();
                }
                Line::Content { pos, .. } => {
                    explicit = false;
                    self.builder.document_start();
                    self.block_node(pos)?;
                    self.builder.document_end();
                    match self.peek()? {
                        Line::End | Line::Document => {}
                        Line::Content { .. } => return Err(GaveUp),
                    }
                }
            }
        }
    }

    /// Whether `pos` starts a block sequence entry (`-` then a space or the line's end).
    fn is_entry(&self, pos: usize) -> bool {
        self.byte(pos) == Some(b'-') && matches!(self.byte(pos + 1), None | Some(b' '))
    }

    /// A block sequence or mapping starting at `pos`.
    fn block_node(&mut self, pos: usize) -> Fast<()> {
        if self.is_entry(pos) {
            let loc = self.loc(pos);
            return self.block_sequence(pos, loc);
        }
        match self.key(pos)? {
            Some((key, colon)) => self.block_mapping(pos, key, colon),
            None => Err(GaveUp),
        }
    }

    /// The implicit key at `pos` and the position of its `:`, or `None` when the line at
    /// `pos` is not `key:` followed by a space or the line's end.
    fn key(&self, pos: usize) -> Fast<Option<(Scalar<'t>, usize)>> {
        let (key, after) = match self.byte(pos) {
            Some(b'"') => {
                let s = self.double_quoted(pos)?;
                let end = s.end;
                (s, end)
            }
            Some(b'\'') => {
                let s = self.single_quoted(pos)?;
                let end = s.end;
                (s, end)
            }
            Some(c) if is_indicator(c) => return Ok(None),
            Some(b'-') if matches!(self.byte(pos + 1), None | Some(b' ')) => return Ok(None),
            Some(_) => {
                let mut i = pos;
                loop {
                    match self.byte(i) {
                        None => return Ok(None),
                        Some(b':') if matches!(self.byte(i + 1), None | Some(b' ')) => break,
                        Some(b'#') if self.b[i - 1] == b' ' => return Ok(None),
                        Some(_) => i += 1,
                    }
                }
                let text = self.text[pos..i].trim_end_matches(' ');
                let s = Scalar {
                    text: Cow::Borrowed(text),
                    style: ScalarStyle::Plain,
                    end: pos + text.len(),
                };
                (s, i)
            }
            None => return Ok(None),
        };
        if after - pos > MAX_KEY {
            return Err(GaveUp);
        }
        let colon = self.skip_spaces(after);
        if self.byte(colon) == Some(b':') && matches!(self.byte(colon + 1), None | Some(b' ')) {
            Ok(Some((key, colon)))
        } else {
            Ok(None)
        }
    }

    /// A block mapping whose first key, starting at `pos`, is already read.
    fn block_mapping(&mut self, pos: usize, first: Scalar<'t>, colon: usize) -> Fast<()> {
        let indent = pos - self.line_start;
        self.builder
            .mapping_start(self.loc(pos), 0)
            .map_err(|_| GaveUp)?;
        let (mut key, mut key_pos, mut colon) = (first, pos, colon);
        loop {
            let loc = self.loc(key_pos);
            self.builder
                .scalar(key.text, key.style, 0, None, loc)
                .map_err(|_| GaveUp)?;
            self.mapping_value(colon, indent)?;
            match self.peek()? {
                Line::Content { pos, indent: i } if i == indent => {
                    let Some((next, next_colon)) = self.key(pos)? else {
                        return Err(GaveUp);
                    };
                    (key, key_pos, colon) = (next, pos, next_colon);
                }
                Line::Content { indent: i, .. } if i > indent => return Err(GaveUp),
                _ => break,
            }
        }
        self.builder.close().map_err(|_| GaveUp)
    }

    /// The value after a mapping key's `:` at `colon`, in a mapping indented `indent`; leaves
    /// the reader on the line after the value.
    fn mapping_value(&mut self, colon: usize, indent: usize) -> Fast<()> {
        let pos = self.skip_spaces(colon + 1);
        match self.byte(pos) {
            None | Some(b'#') => {
                let null_at = self.loc(colon);
                self.next_line();
                match self.peek()? {
                    Line::Content { pos, indent: i } if i > indent => self.block_node(pos),
                    // A sequence may be indented as much as the key it belongs to.
                    Line::Content { pos, indent: i } if i == indent && self.is_entry(pos) => {
                        let first = self.skip_spaces(pos + 1);
                        if self.rest_is_blank(first, true) {
                            return Err(GaveUp);
                        }
                        let loc = self.loc(first);
                        self.block_sequence(pos, loc)
                    }
                    _ => self.null(null_at),
                }
            }
            Some(b'|') => self.literal(pos, indent),
            Some(_) => self.inline_value(pos, indent),
        }
    }

    fn null(&mut self, loc: Loc) -> Fast<()> {
        self.builder
            .scalar(Cow::Borrowed("~"), ScalarStyle::Plain, 0, None, loc)
            .map_err(|_| GaveUp)
    }

    /// A block sequence whose first `-` is at `pos`, starting at `loc`.
    fn block_sequence(&mut self, pos: usize, loc: Loc) -> Fast<()> {
        let indent = pos - self.line_start;
        self.builder.sequence_start(loc, 0).map_err(|_| GaveUp)?;
        let mut dash = pos;
        loop {
            let item = self.skip_spaces(dash + 1);
            if self.rest_is_blank(item, true) {
                self.next_line();
                match self.peek()? {
                    Line::Content { pos, indent: i } if i > indent => self.block_node(pos)?,
                    _ => return Err(GaveUp),
                }
            } else if self.is_entry(item) {
                let loc = self.loc(item);
                self.block_sequence(item, loc)?;
            } else if self.byte(item) == Some(b'|') {
                self.literal(item, indent)?;
            } else if let Some((key, colon)) = self.key(item)? {
                self.block_mapping(item, key, colon)?;
            } else {
                self.inline_value(item, indent)?;
            }
            match self.peek()? {
                Line::Content { pos, indent: i } if i == indent && self.is_entry(pos) => {
                    dash = pos;
                }
                Line::Content { indent: i, .. } if i > indent => return Err(GaveUp),
                _ => break,
            }
        }
        self.builder.close().map_err(|_| GaveUp)
    }

    /// A scalar or flow collection that fills the rest of the line from `pos`, in a block
    /// collection indented `indent`; leaves the reader on the next line, which must not be
    /// indented more (that would continue the value on another line).
    fn inline_value(&mut self, pos: usize, indent: usize) -> Fast<()> {
        let end = self.flow_or_scalar(pos, false)?;
        if !self.rest_is_blank(end, false) {
            return Err(GaveUp);
        }
        self.next_line();
        match self.peek()? {
            Line::Content { indent: i, .. } if i > indent => Err(GaveUp),
            _ => Ok(()),
        }
    }

    /// A flow collection, quoted scalar or plain scalar at `pos` (`in_flow`: inside a flow
    /// collection); returns the byte after it.
    fn flow_or_scalar(&mut self, pos: usize, in_flow: bool) -> Fast<usize> {
        let scalar = match self.byte(pos) {
            Some(b'[') => return self.flow_sequence(pos),
            Some(b'{') => return self.flow_mapping(pos),
            Some(b'"') => self.double_quoted(pos)?,
            Some(b'\'') => self.single_quoted(pos)?,
            _ => self.plain(pos, in_flow)?,
        };
        let end = scalar.end;
        let loc = self.loc(pos);
        self.builder
            .scalar(scalar.text, scalar.style, 0, None, loc)
            .map_err(|_| GaveUp)?;
        Ok(end)
    }

    /// A plain scalar on one line at `pos`.
    fn plain(&self, pos: usize, in_flow: bool) -> Fast<Scalar<'t>> {
        let first = self.byte(pos).ok_or(GaveUp)?;
        let next = self.byte(pos + 1);
        if is_indicator(first)
            || (first == b'-' && next.is_none_or(|c| c == b' ' || is_flow_indicator(c)))
        {
            return Err(GaveUp);
        }
        let mut i = pos;
        loop {
            match self.byte(i) {
                None => break,
                Some(c) if in_flow && is_flow_indicator(c) => break,
                // `: ` ends a key in a flow mapping; in a block value it is an error.
                Some(b':') => match self.byte(i + 1) {
                    None | Some(b' ') if in_flow => break,
                    None | Some(b' ') => return Err(GaveUp),
                    Some(c) if in_flow && is_flow_indicator(c) => break,
                    Some(_) => i += 1,
                },
                Some(b'#') if self.b[i - 1] == b' ' => break,
                Some(_) => i += 1,
            }
        }
        let text = self.text[pos..i].trim_end_matches(' ');
        if in_flow && self.byte(i).is_none_or(|c| c == b'#') {
            // A flow collection that goes on on the next line.
            return Err(GaveUp);
        }
        Ok(Scalar {
            text: Cow::Borrowed(text),
            style: ScalarStyle::Plain,
            end: pos + text.len(),
        })
    }

    /// A single-quoted scalar on one line at `pos` (`''` is a quote).
    fn single_quoted(&self, pos: usize) -> Fast<Scalar<'t>> {
        let mut i = pos + 1;
        let mut owned: Option<String> = None;
        let mut from = i;
        loop {
            match self.byte(i) {
                None => return Err(GaveUp),
                Some(b'\'') if self.byte(i + 1) == Some(b'\'') => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[from..=i]);
                    i += 2;
                    from = i;
                }
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        let text = self.unescaped(owned, from, i);
        Ok(Scalar {
            text,
            style: ScalarStyle::SingleQuoted,
            end: i + 1,
        })
    }

    /// A quoted scalar's text: borrowed from the file when it had no escape, else the text
    /// decoded so far (`owned`) and the rest from `from` to the closing quote at `end`.
    fn unescaped(&self, owned: Option<String>, from: usize, end: usize) -> Cow<'t, str> {
        match owned {
            Some(mut s) => {
                s.push_str(&self.text[from..end]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.text[from..end]),
        }
    }

    /// A double-quoted scalar on one line at `pos`, escapes decoded.
    fn double_quoted(&self, pos: usize) -> Fast<Scalar<'t>> {
        let mut i = pos + 1;
        let mut owned: Option<String> = None;
        let mut from = i;
        loop {
            match self.byte(i) {
                None => return Err(GaveUp),
                Some(b'"') => break,
                Some(b'\\') => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[from..i]);
                    i = self.escape(i + 1, s)?;
                    from = i;
                }
                Some(_) => i += 1,
            }
        }
        let text = self.unescaped(owned, from, i);
        Ok(Scalar {
            text,
            style: ScalarStyle::DoubleQuoted,
            end: i + 1,
        })
    }

    /// Decodes the escape whose letter is at `pos` into `out`; returns the byte after it.
    fn escape(&self, pos: usize, out: &mut String) -> Fast<usize> {
        let simple = match self.byte(pos).ok_or(GaveUp)? {
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' => return self.hex_escape(pos + 1, 2, out),
            b'u' => return self.hex_escape(pos + 1, 4, out),
            b'U' => return self.hex_escape(pos + 1, 8, out),
            _ => return Err(GaveUp),
        };
        out.push(simple);
        Ok(pos + 1)
    }

    fn hex_escape(&self, pos: usize, digits: usize, out: &mut String) -> Fast<usize> {
        let end = pos + digits;
        if end > self.line_end {
            return Err(GaveUp);
        }
        // Not a character boundary when a multi-byte character stands among the digits.
        let hex = self.text.get(pos..end).ok_or(GaveUp)?;
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(GaveUp);
        }
        let code = u32::from_str_radix(hex, 16).map_err(|_| GaveUp)?;
        out.push(char::from_u32(code).ok_or(GaveUp)?);
        Ok(end)
    }

    /// `[a, b]` on one line at `pos`; returns the byte after `]`.
    fn flow_sequence(&mut self, pos: usize) -> Fast<usize> {
        self.builder
            .sequence_start(self.loc(pos), 0)
            .map_err(|_| GaveUp)?;
        let mut i = self.skip_spaces(pos + 1);
        loop {
            if self.byte(i) == Some(b']') {
                break;
            }
            let end = self.flow_or_scalar(i, true)?;
            i = self.skip_spaces(end);
            match self.byte(i) {
                Some(b',') => i = self.skip_spaces(i + 1),
                Some(b']') => break,
                _ => return Err(GaveUp),
            }
        }
        self.builder.close().map_err(|_| GaveUp)?;
        Ok(i + 1)
    }

    /// `{k: v, ...}` on one line at `pos`; returns the byte after `}`.
    fn flow_mapping(&mut self, pos: usize) -> Fast<usize> {
        self.builder
            .mapping_start(self.loc(pos), 0)
            .map_err(|_| GaveUp)?;
        let mut i = self.skip_spaces(pos + 1);
        loop {
            if self.byte(i) == Some(b'}') {
                break;
            }
            if matches!(self.byte(i), Some(b'[' | b'{')) {
                return Err(GaveUp);
            }
            let end = self.flow_or_scalar(i, true)?;
            i = self.skip_spaces(end);
            if self.byte(i) != Some(b':') || self.byte(i + 1) != Some(b' ') {
                return Err(GaveUp);
            }
            i = self.skip_spaces(i + 2);
            if matches!(self.byte(i), None | Some(b',' | b'}' | b'#')) {
                return Err(GaveUp);
            }
            let end = self.flow_or_scalar(i, true)?;
            i = self.skip_spaces(end);
            match self.byte(i) {
                Some(b',') => i = self.skip_spaces(i + 1),
                Some(b'}') => break,
                _ => return Err(GaveUp),
            }
        }
        self.builder.close().map_err(|_| GaveUp)?;
        Ok(i + 1)
    }

    /// A literal block scalar (`|` or `|-`) whose indicator is at `pos`, in a block collection
    /// indented `indent`; leaves the reader on the first line after it.
    fn literal(&mut self, pos: usize, indent: usize) -> Fast<()> {
        let (strip, after) = match self.byte(pos + 1) {
            Some(b'-') => (true, pos + 2),
            Some(b' ') | None => (false, pos + 1),
            Some(_) => return Err(GaveUp),
        };
        if !self.rest_is_blank(after, false) {
            return Err(GaveUp);
        }
        self.next_line();
        let content = self.skip_spaces(self.line_start);
        let width = content - self.line_start;
        if self.at_end() || self.byte(content).is_none() || width <= indent {
            return Err(GaveUp);
        }
        let loc = self.loc(content);
        let mut text = String::new();
        let mut breaks = 0usize;
        let mut last_line_end = self.line_end;
        loop {
            if self.at_end() {
                break;
            }
            let spaces = self.skip_spaces(self.line_start) - self.line_start;
            let blank = self.line_start + spaces == self.line_end;
            if blank {
                if spaces > width {
                    return Err(GaveUp);
                }
                breaks += 1;
            } else if spaces < width {
                break;
            } else {
                if !text.is_empty() || breaks > 0 {
                    text.push('\n');
                }
                text.extend(std::iter::repeat_n('\n', breaks));
                breaks = 0;
                text.push_str(&self.text[self.line_start + width..self.line_end]);
                last_line_end = self.line_end;
            }
            self.next_line();
        }
        if last_line_end >= self.b.len() {
            // The last line has no line break for the clip rule to keep.
            return Err(GaveUp);
        }
        if !strip {
            text.push('\n');
        }
        self.builder
            .scalar(Cow::Owned(text), ScalarStyle::Literal, 0, None, loc)
            .map_err(|_| GaveUp)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::YamlError;
    use super::super::events::Limits;
    use super::*;

    fn fast(text: &str) -> Fast<Vec<Node>> {
        read(text, Builder::new(text, 0, Limits::MANIFEST))
    }

    fn full(text: &str) -> Result<Vec<Node>, YamlError> {
        Builder::new(text, 0, Limits::MANIFEST).run()
    }

    /// The fast reader either gives up or reads exactly what the full parser reads.
    fn agree(text: &str) -> Result<bool, String> {
        match fast(text) {
            Err(GaveUp) => Ok(false),
            Ok(docs) => match full(text) {
                Ok(expected) if expected == docs => Ok(true),
                Ok(expected) => Err(format!(
                    "different nodes for {text:?}:\nfast {docs:?}\nfull {expected:?}"
                )),
                Err(e) => Err(format!("fast read {text:?}, full parser: {e:?}")),
            },
        }
    }

    /// The manifest files under `dir` of the repository, found as the loader finds them.
    fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut problems = Vec::new();
        let files = crate::manifest::files::collect(&[root.join(dir)], &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        files
    }

    #[test]
    fn every_example_is_read_fast_and_as_the_full_parser_reads_it() {
        let files = yaml_files("examples");
        assert!(files.len() >= 10, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read");
            assert_eq!(agree(&text), Ok(true), "{}", file.display());
        }
    }

    #[test]
    fn invalid_fixtures_are_read_as_the_full_parser_reads_them() {
        let files = yaml_files("tests/fixtures");
        assert!(files.len() >= 20, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read");
            assert!(
                agree(&text).is_ok(),
                "{}: {:?}",
                file.display(),
                agree(&text)
            );
        }
    }

    #[test]
    fn the_shapes_manifests_use_are_read_fast() {
        let cases = [
            "# c\nkind: Table\nname: x   # trailing\nempty:\nafter: [a, {b: c}, \"q\\\"x\", 'it''s']\n",
            "seq:\n- a\n-   b\n- k: v\n  k2:\n  k3: |\n    line1\n      line2\n\n    line3\n\n  k4: |-\n    s\n",
            "nested:\n  - - x\n    - y\n  -\n    z: 1\n---\n---\nkind: B\n",
            "a: {x: 1, y: [1, 2, {z: 'q'}], w: \"\\u00e9\\x41\\t\"}\nb: http://host:80/path # c\n",
            "é: ü\nkey with spaces : v\n\"quoted key\": 1\n'single': -5\n",
            "---\nkind: Function\nbody: |\n  T\n  | where x > 1 # not a comment\n\n  | take 1\nnext: 1\n",
            "list:\n  - {topic: t, table: T}\n  - {topic: u, table: U,}\n  - []\n  - {}\n",
            "  indented: root\n  second: 2\n",
            "a:\n  b:\n    c:\n    - 1\n    - 2\n  d: ~\n",
            "--- # first\na: 1\n...\n",
        ];
        for (i, text) in cases.iter().enumerate() {
            let read = agree(text);
            let expected = i != cases.len() - 1;
            assert_eq!(read, Ok(expected), "case {i}: {text:?}");
        }
    }

    #[test]
    fn what_it_does_not_read_is_left_to_the_full_parser() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: >\n  folded\n",
            "a: |+\n  kept\n\n",
            "a: |2\n   x\n",
            "a: [1,\n  2]\n",
            "a: plain\n  continued\n",
            "a:\tb\n",
            "a: b\r\n",
            "? complex\n: v\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 'multi\n  line'\n",
            "a: b: c\n",
            "a: 1\na: 2\n",
            "a: \"bad \\q escape\"\n",
            "a: \"\\u00é1\"\n",
            "- a\nb: 1\n",
            "a: |\n  no final break",
        ] {
            assert_eq!(agree(text), Ok(false), "{text:?}");
        }
    }

    /// A YAML value to render in one of the styles the fast reader handles.
    #[derive(Debug, Clone)]
    enum Gen {
        Scalar(String),
        Lines(Vec<String>),
        Seq(Vec<Gen>),
        Map(Vec<(String, Gen)>),
    }

    fn scalar_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9_]{0,8}",
            "-?[0-9]{1,4}",
            "[0-9]\\.[0-9]{1,3}",
            Just("true".to_string()),
            Just("~".to_string()),
            Just("null".to_string()),
            Just("0x1f".to_string()),
            Just("0123".to_string()),
            "[a-z]{1,4} [a-z| .$]{1,6}[a-z]",
            "[a-z]{1,3}:[a-z/]{1,4}",
            "[a-z]{1,3}#[a-z]{1,3}",
            "[é中a-z]{1,4}",
        ]
    }

    fn quoted(text: &str, style: u8) -> String {
        match style % 3 {
            0 => format!("'{}'", text.replace('\'', "''")),
            1 => format!(
                "\"{}\"",
                text.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('é', "\\u00e9")
            ),
            _ => text.to_string(),
        }
    }

    fn value() -> impl Strategy<Value = Gen> {
        let leaf = prop_oneof![
            4 => scalar_text().prop_map(Gen::Scalar),
            1 => prop::collection::vec("[a-z| ]{0,6}[a-z]", 1..4).prop_map(Gen::Lines),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Gen::Seq),
                prop::collection::vec(("[a-z]{1,5}", inner), 0..4).prop_map(|entries| {
                    let mut seen = std::collections::HashSet::new();
                    Gen::Map(
                        entries
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .collect(),
                    )
                }),
            ]
        })
    }

    /// The style choices of one generated document, used in turn.
    struct Seeds {
        values: Vec<u8>,
        at: usize,
    }

    impl Seeds {
        fn pick(&mut self) -> u8 {
            self.at += 1;
            self.values[self.at % self.values.len()]
        }

        fn one_in(&mut self, n: u8) -> bool {
            self.pick().is_multiple_of(n)
        }
    }

    /// Renders `value` as a block node at `indent`, after a key or dash (`out` ends there).
    fn render(value: &Gen, indent: usize, seeds: &mut Seeds, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Gen::Scalar(s) => {
                let q = seeds.pick();
                let comment = if seeds.one_in(4) { "  # note" } else { "" };
                out.push_str(&format!(" {}{comment}\n", quoted(s, q)));
            }
            Gen::Lines(lines) => {
                out.push_str(if seeds.one_in(2) { " |\n" } else { " |-\n" });
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 && seeds.one_in(3) {
                        out.push('\n');
                    }
                    out.push_str(&format!("{pad}  {}\n", line.trim()));
                }
            }
            Gen::Seq(items) if items.is_empty() => out.push_str(" []\n"),
            Gen::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
            Gen::Seq(items)
                if items.iter().all(|i| matches!(i, Gen::Scalar(_))) && seeds.one_in(2) =>
            {
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        Gen::Scalar(s) => quoted(s, seeds.pick()),
                        _ => String::new(),
                    })
                    .collect();
                out.push_str(&format!(" [{}]\n", texts.join(", ")));
            }
            Gen::Map(entries)
                if entries.iter().all(|(_, v)| matches!(v, Gen::Scalar(_))) && seeds.one_in(2) =>
            {
                let texts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| match v {
                        Gen::Scalar(s) => format!("{k}: {}", quoted(s, seeds.pick())),
                        _ => String::new(),
                    })
                    .collect();
                out.push_str(&format!(" {{{}}}\n", texts.join(", ")));
            }
            Gen::Seq(items) => {
                out.push('\n');
                let step = 1 + usize::from(seeds.pick() % 3);
                for item in items {
                    if seeds.one_in(5) {
                        out.push_str(&format!("{pad}# between\n\n"));
                    }
                    out.push_str(&format!("{pad}{}-", " ".repeat(step)));
                    render(item, indent + step + 2, seeds, out);
                }
            }
            Gen::Map(entries) => {
                out.push('\n');
                let step = 1 + usize::from(seeds.pick() % 3);
                for (k, v) in entries {
                    out.push_str(&format!("{pad}{}{k}:", " ".repeat(step)));
                    render(v, indent + step, seeds, out);
                }
            }
        }
    }

    fn document(value: &Gen, seeds: &[u8]) -> String {
        let mut out = String::from("kind: Doc\ntop:");
        let mut seeds = Seeds {
            values: seeds.to_vec(),
            at: 0,
        };
        render(value, 0, &mut seeds, &mut out);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn generated_documents_are_read_fast_and_as_the_full_parser_reads_them(
            value in value(),
            seeds in prop::collection::vec(any::<u8>(), 1..16),
        ) {
            let text = document(&value, &seeds);
            prop_assert_eq!(agree(&text), Ok(true), "{}", text);
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        #[test]
        fn mutated_documents_are_never_read_differently(
            value in value(),
            seeds in prop::collection::vec(any::<u8>(), 1..16),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, prop::sample::select(vec![':', '-', ' ', '#', '\n', '\'', '"', '[', ']', '{', '}', '|', 'a', ',', '\\'])), 1..4),
        ) {
            let mut text: Vec<char> = document(&value, &seeds).chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(text.len() + 1);
                match kind {
                    0 => text.insert(i, c),
                    1 if i < text.len() => { text.remove(i); }
                    _ if i < text.len() => text[i] = c,
                    _ => {}
                }
            }
            let text: String = text.into_iter().collect();
            prop_assert!(agree(&text).is_ok(), "{:?}", agree(&text));
        }
    }
}

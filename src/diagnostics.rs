//! User-facing problems with their positions, and how they are printed.
//!
//! Every problem kustoplan finds in the input becomes one [`Diagnostic`]; they are collected (not
//! returned on the first failure) so a user fixes everything in one round.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::manifest::node::Loc;
use crate::redact;

/// The manifest files of a run, so diagnostics can show the offending line, and the literal
/// secrets they hold, so diagnostics never show those ([`crate::redact`]).
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    secrets: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    path: PathBuf,
    text: String,
    /// The values of secret keys found in the text line by line ([`redact::lexical_secrets`]),
    /// the first time a snippet of the file is shown: a run that shows none (every run without
    /// a problem) never scans its files for them.
    lexical_secrets: OnceLock<Vec<Range<usize>>>,
    /// The values recorded by [`SourceMap::add_secret`].
    secret_spans: Vec<Range<usize>>,
    /// Where each line starts, found the first time a position is looked up: thousands of
    /// problems in one large file each find their line without scanning the file again.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    /// The byte range of line `line` (1-based), without its newline.
    fn line(&self, line: u32) -> Option<Range<usize>> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(at, _)| at + 1))
                .collect()
        });
        let start = *starts.get((line as usize).checked_sub(1)?)?;
        let end = starts
            .get(line as usize)
            .map_or(self.text.len(), |next| next - 1);
        Some(start..end)
    }

    /// The byte range of the token that starts at `loc` (in this file), for underlining.
    fn span(&self, loc: Loc) -> Option<Range<usize>> {
        let line = self.line(loc.line)?;
        let span = span_in_line(&self.text[line.clone()], loc.column);
        Some(line.start + span.start..line.start + span.end)
    }
}

impl SourceMap {
    /// Registers a file and returns its index for [`Loc::file`]. The values of its secret keys
    /// are found from the text alone, so they are masked even if the file does not parse.
    pub fn add(&mut self, path: PathBuf, text: String) -> u32 {
        self.files.push(SourceFile {
            path,
            text,
            lexical_secrets: OnceLock::new(),
            secret_spans: Vec::new(),
            line_starts: OnceLock::new(),
        });
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// Records a literal secret: the value written at `loc` (and, after variable substitution,
    /// `value`) is never shown, in any snippet or message.
    pub fn add_secret(&mut self, loc: Loc, value: &str) {
        if let Some(file) = self.files.get_mut(loc.file as usize)
            && let Some(span) = file.span(loc)
        {
            file.secret_spans.push(span);
        }
        if !value.trim().is_empty() {
            self.secrets.insert(value.to_string());
        }
    }

    /// `text` with every recorded secret value replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        redact::redact_text(text, self.secrets.iter().map(String::as_str))
    }

    /// The line of `loc` with every secret masked (and the token at `loc` too when
    /// `redact_token`: a diagnostic about a secret value), and where that token is in the
    /// masked line: what a snippet shows. Only that line is masked and handed on, so printing
    /// thousands of problems of one large file costs what the lines cost, not thousands of
    /// copies of the file.
    fn masked_line(&self, loc: Loc, redact_token: bool) -> Option<(String, Range<usize>)> {
        let f = self.files.get(loc.file as usize)?;
        let line = f.line(loc.line)?;
        let text = &f.text[line.clone()];
        let token = span_in_line(text, loc.column);
        let in_line = |r: &Range<usize>| {
            let (start, end) = (r.start.max(line.start), r.end.min(line.end));
            (start < end).then(|| start - line.start..end - line.start)
        };
        let lexical = f
            .lexical_secrets
            .get_or_init(|| redact::lexical_secrets(&f.text));
        let mut ranges: Vec<Range<usize>> = lexical
            .iter()
            .chain(&f.secret_spans)
            .filter_map(in_line)
            .collect();
        ranges.extend(redact_token.then(|| token.clone()));
        ranges.extend(
            self.secrets
                .iter()
                .flat_map(|v| redact::fragments(v))
                .flat_map(|v| redact::occurrences(text, v)),
        );
        let masked = redact::mask(text, ranges);
        let span = masked.map(token);
        Some((masked.text, span))
    }

    /// The path of a file, as the user gave it.
    pub fn path(&self, file: u32) -> Option<&Path> {
        self.files.get(file as usize).map(|f| f.path.as_path())
    }

    /// The text of a file.
    pub fn text(&self, file: u32) -> Option<&str> {
        self.files.get(file as usize).map(|f| f.text.as_str())
    }

    /// How many files were read.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// One problem: what is wrong, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Where; `None` for problems that belong to no file (a missing path, say).
    pub loc: Option<Loc>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it, in one line.
    pub hint: Option<String>,
    /// The value at `loc` is a secret: the snippet shows `<redacted>` in its place.
    pub redact: bool,
}

impl Diagnostic {
    /// A problem at a position.
    pub fn at(loc: Loc, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            loc: Some(loc),
            message: message.into(),
            hint: None,
            redact: false,
        }
    }

    /// A problem with no position.
    pub fn global(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            loc: None,
            message: message.into(),
            hint: None,
            redact: false,
        }
    }

    /// Marks the value at the position as a secret, never to be shown.
    pub fn redacted(mut self) -> Diagnostic {
        self.redact = true;
        self
    }

    /// Adds the one-line fix hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:column`, as editors and CI annotations parse it.
    pub fn location(&self, sources: &SourceMap) -> Option<String> {
        let loc = self.loc?;
        let path = sources.path(loc.file)?;
        Some(format!("{}:{}:{}", path.display(), loc.line, loc.column))
    }
}

/// Renders diagnostics like rustc does: message, `--> file:line:column`, the source line with
/// the spot marked, and the hint. `color` adds ANSI styles (callers decide: TTY and no NO_COLOR).
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diagnostics {
        let message = sources.redact(&d.message);
        let mut group = Group::with_title(Level::ERROR.primary_title(message.as_str()));
        let snippet = d.loc.and_then(|loc| {
            let (text, span) = sources.masked_line(loc, d.redact)?;
            Some((
                text,
                sources.path(loc.file)?.display().to_string(),
                span,
                loc.line as usize,
            ))
        });
        match snippet {
            Some((text, path, span, line)) => {
                group = group.element(
                    Snippet::source(text)
                        .line_start(line)
                        .path(path)
                        .fold(true)
                        .annotation(AnnotationKind::Primary.span(span)),
                );
            }
            None => {
                if let Some(location) = d.location(sources) {
                    group = group.element(Level::NOTE.message(format!("in {location}")));
                }
            }
        }
        let hint = d.hint.as_deref().map(|h| sources.redact(h));
        if let Some(hint) = &hint {
            group = group.element(Level::HELP.message(hint.as_str()));
        }
        let report: [Group<'_>; 1] = [group];
        let _ = writeln!(out, "{}\n", renderer.render(&report));
    }
    out
}

/// The problems as JSON for machines (`validate --format json`): one object per problem with
/// `file`, `line`, `column` (null when the problem has no position), `message` and `hint`,
/// redacted by the same rule as the text rendering.
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    use serde_json::Value;
    let problems: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut problem = serde_json::Map::new();
            let (file, line, column) = match d.loc {
                Some(loc) => (
                    sources
                        .path(loc.file)
                        .map_or(Value::Null, |p| Value::String(p.display().to_string())),
                    Value::from(loc.line),
                    Value::from(loc.column),
                ),
                None => (Value::Null, Value::Null, Value::Null),
            };
            problem.insert("file".into(), file);
            problem.insert("line".into(), line);
            problem.insert("column".into(), column);
            problem.insert("message".into(), Value::String(sources.redact(&d.message)));
            problem.insert(
                "hint".into(),
                d.hint
                    .as_deref()
                    .map_or(Value::Null, |h| Value::String(sources.redact(h))),
            );
            Value::Object(problem)
        })
        .collect();
    Value::Array(problems)
}

/// The byte range, in `line`, of the token that starts at 1-based character `column` (a
/// scalar, a key, or a flow collection's opening bracket), for underlining.
fn span_in_line(line: &str, column: u32) -> Range<usize> {
    let col = (column.max(1) - 1) as usize;
    let start = line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
    let rest = &line[start..];
    // A token that trims to nothing (e.g. a Unicode space) still gets its first character
    // underlined; the length is always in whole characters.
    let len = match token_len(rest) {
        0 => rest.chars().next().map_or(0, char::len_utf8),
        n => n,
    };
    start..start + len
}

fn token_len(rest: &str) -> usize {
    match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map_or(rest.len(), |end| end + 2),
        Some('[' | '{' | '-' | '|' | '>') | None => rest.chars().next().map_or(0, char::len_utf8),
        Some(_) => {
            let stop = [rest.find([',', ']', '}', '#', '\r']), rest.find(": ")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(rest.len());
            rest[..stop].trim_end().len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The span [`SourceFile::span`] underlines at `loc` in a file of `text`.
    fn span_of(text: &str, loc: Loc) -> Option<Range<usize>> {
        let mut sources = SourceMap::default();
        let file = sources.add("t.yaml".into(), text.into());
        sources.files[file as usize].span(loc)
    }

    #[test]
    fn spans_cover_the_token() {
        let text = "kind: Table\nname: 'A B'\ncolumns: [x, y]\nkey: value # c\n";
        let at = |line, column| {
            span_of(
                text,
                Loc {
                    file: 0,
                    line,
                    column,
                },
            )
            .map(|r| &text[r])
        };
        assert_eq!(at(1, 7), Some("Table"));
        assert_eq!(at(2, 7), Some("'A B'"));
        assert_eq!(at(3, 11), Some("x"));
        assert_eq!(at(4, 1), Some("key"));
        assert_eq!(at(4, 6), Some("value"));
        assert_eq!(at(9, 1), None);
    }

    /// Regression (found by the fuzz test): a Unicode space before `]` made a 1-byte span
    /// inside a 3-byte character, and the renderer panicked.
    #[test]
    fn spans_never_split_a_character() {
        let text = "\u{2000}]\n";
        let span = span_of(
            text,
            Loc {
                file: 0,
                line: 1,
                column: 1,
            },
        )
        .expect("span");
        assert_eq!(&text[span], "\u{2000}");
        let mut sources = SourceMap::default();
        let f = sources.add("x.yaml".into(), text.into());
        let out = render(
            &[Diagnostic::at(
                Loc {
                    file: f,
                    line: 1,
                    column: 1,
                },
                "bad",
            )],
            &sources,
            false,
        );
        assert!(out.contains("error: bad"), "{out}");
    }

    #[test]
    fn plain_rendering_shows_location_snippet_and_hint() {
        let mut sources = SourceMap::default();
        let f = sources.add(
            "stack/t.yaml".into(),
            "kind: Table\nname: Bad/Name\n".into(),
        );
        let d = Diagnostic::at(
            Loc {
                file: f,
                line: 2,
                column: 7,
            },
            "invalid table name",
        )
        .hint("use letters and digits");
        let out = render(&[d], &sources, false);
        assert!(out.contains("error: invalid table name"), "{out}");
        assert!(out.contains("--> stack/t.yaml:2:7"), "{out}");
        assert!(out.contains("2 | name: Bad/Name"), "{out}");
        assert!(out.contains("^^^^^^^^"), "{out}");
        assert!(out.contains("help: use letters and digits"), "{out}");
        assert!(
            !out.contains('\u{1b}'),
            "no ANSI codes without color: {out}"
        );
    }

    /// Each snippet is its own line of the file, masked: the line's number, the token
    /// underlined where it is, a secret recorded elsewhere masked where it recurs, a secret
    /// key's value masked, and nothing of the other lines.
    #[test]
    fn a_snippet_is_its_line_masked_and_numbered() {
        let mut text = String::from("kind: Sink\nauth: {app_key: hunter2}\n");
        for i in 3..2999 {
            text.push_str(&format!("k{i}: v{i}\n"));
        }
        text.push_str("note: hunter2, bad: [1]\npassword: swordfish\n");
        let mut sources = SourceMap::default();
        let f = sources.add("big.yaml".into(), text);
        sources.add_secret(
            Loc {
                file: f,
                line: 2,
                column: 16,
            },
            "hunter2",
        );
        let at = |line, column| Loc {
            file: f,
            line,
            column,
        };
        let out = render(
            &[
                Diagnostic::at(at(2999, 21), "bad list"),
                Diagnostic::at(at(3000, 1), "bad key"),
                Diagnostic::at(at(1500, 8), "odd value"),
            ],
            &sources,
            false,
        );
        assert!(
            out.contains("2999 | note: <redacted>, bad: [1]\n     |                        ^\n"),
            "{out}"
        );
        assert!(
            out.contains("3000 | password: <redacted>\n     | ^^^^^^^^\n"),
            "{out}"
        );
        assert!(
            out.contains("1500 | k1500: v1500\n     |        ^^^^^\n"),
            "{out}"
        );
        assert!(
            !out.contains("hunter2") && !out.contains("swordfish"),
            "{out}"
        );
        assert!(
            !out.contains("k1499") && !out.contains("kind: Sink"),
            "{out}"
        );
    }
}

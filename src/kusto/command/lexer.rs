//! Tokenizer for Kusto control commands.
//!
//! Handles the literal syntax Kusto users actually write: bracketed names (`['My Table']`),
//! '...' and "..." strings with backslash escapes, verbatim `@'...'` strings (doubled quotes),
//! obfuscated `h'...'` strings, multi-line ```` ``` ```` literals, `//` comments and the `<|`
//! script separator. A token remembers whether it starts its line so that
//! `.execute database script` can split a script into commands exactly like the service.
//!
//! The same tokens serve the sandbox's query subset (comparison operators, decimal and
//! negative numbers, `datetime(...)`-style typed literals, unquoted GUIDs in extent lists),
//! and [`tokenize_command`] stops after the `<|` of `.ingest inline` so its data, which
//! follows no lexical rules, is handed over verbatim.

use super::SyntaxError;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A control command verb such as `.create-merge`, without the dot.
    Command(String),
    /// A bare identifier or keyword.
    Ident(String),
    /// A bracketed name `['x']` / `["x"]`, decoded.
    Bracketed(String),
    /// A string literal, decoded.
    Str(String),
    /// A numeric literal (possibly with a unit suffix such as `10d`), as written.
    Number(String),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `=`
    Eq,
    /// `.` between name parts.
    Dot,
    /// `*`
    Star,
    /// `<|`
    ScriptArrow,
    /// `|` (query pipes, and queries sent as commands reported clearly).
    Pipe,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `!` directly before a word (`!has`, `!contains`).
    Bang,
    /// The text between the parentheses of a typed literal such as `datetime(2024-01-01)`,
    /// as written (the surrounding `(` and `)` are tokens of their own).
    LiteralBody(String),
    /// A `{ ... }` block (a function body), the text between the braces verbatim: braces in
    /// string literals and comments do not count, and no line of it starts a script command.
    Body(String),
}

/// Words that open a typed literal whose parenthesised body is taken verbatim (right after a
/// comparison operator).
const TYPED_LITERALS: [&str; 7] = [
    "datetime", "date", "timespan", "time", "guid", "uuid", "uniqueid",
];

/// A token with its position in the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub kind: TokenKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// 1-based line.
    pub line: usize,
    /// 0-based column (characters), as Kusto reports `[line:position=L:C]`.
    pub col: usize,
    /// No other token precedes it on its line.
    pub line_start: bool,
}

/// Splits `src` into tokens, or reports the first lexical error.
pub fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    Lexer::new(src).run(false).map(|(tokens, _)| tokens)
}

/// Like [`tokenize`], but when the text starts with `.ingest`, stops after its first `<|` and
/// also returns the byte offset where the inline data begins (the data is not tokenized).
pub fn tokenize_command(src: &str) -> Result<(Vec<Token>, Option<usize>), SyntaxError> {
    Lexer::new(src).run(true)
}

/// Characters in a hyphenated GUID.
const GUID_LEN: usize = 36;

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    line: usize,
    /// Index into `chars` of the first character of the current line.
    line_begin: usize,
    line_has_token: bool,
    out: Vec<Token>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            chars: src.char_indices().collect(),
            pos: 0,
            line: 1,
            line_begin: 0,
            line_has_token: false,
            out: Vec::new(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|&(_, c)| c)
    }

    fn offset(&self, idx: usize) -> usize {
        self.chars.get(idx).map_or(self.src.len(), |&(o, _)| o)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.line_begin = self.pos;
            self.line_has_token = false;
        }
        Some(c)
    }

    fn error_at(&self, idx: usize, line: usize, line_begin: usize, message: String) -> SyntaxError {
        SyntaxError {
            message,
            line,
            col: idx.saturating_sub(line_begin),
        }
    }

    /// Tokenizes the text; with `inline_data`, an `.ingest` command ends at its first `<|`
    /// and the offset of the rest is returned.
    fn run(mut self, inline_data: bool) -> Result<(Vec<Token>, Option<usize>), SyntaxError> {
        while let Some(c) = self.peek(0) {
            if inline_data
                && self.out.last().map(|t| &t.kind) == Some(&TokenKind::ScriptArrow)
                && matches!(self.out.first().map(|t| &t.kind), Some(TokenKind::Command(v)) if v == "ingest")
            {
                let data_at = self.offset(self.pos);
                return Ok((self.out, Some(data_at)));
            }
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if c == '/' && self.peek(1) == Some('/') {
                while let Some(c) = self.peek(0) {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
                continue;
            }
            self.token()?;
        }
        Ok((self.out, None))
    }

    fn token(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let (line, line_begin) = (self.line, self.line_begin);
        let line_start = !self.line_has_token;
        let c = self.peek(0).unwrap_or(' ');
        let prev_is_space = start == 0 || self.chars[start - 1].1.is_whitespace();
        let kind = match c {
            '(' => self.single(TokenKind::LParen),
            ')' => self.single(TokenKind::RParen),
            ',' => self.single(TokenKind::Comma),
            ':' => self.single(TokenKind::Colon),
            '=' if self.peek(1) == Some('=') => self.pair(TokenKind::EqEq),
            '=' => self.single(TokenKind::Eq),
            '*' => self.single(TokenKind::Star),
            '<' if self.peek(1) == Some('|') => self.pair(TokenKind::ScriptArrow),
            '<' if self.peek(1) == Some('=') => self.pair(TokenKind::Le),
            '<' => self.single(TokenKind::Lt),
            '>' if self.peek(1) == Some('=') => self.pair(TokenKind::Ge),
            '>' => self.single(TokenKind::Gt),
            '!' if self.peek(1) == Some('=') => self.pair(TokenKind::NotEq),
            '!' if self.peek(1).is_some_and(char::is_alphabetic) => self.single(TokenKind::Bang),
            '-' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) && self.sign_allowed() => {
                self.bump();
                TokenKind::Number(format!("-{}", self.number()))
            }
            c if c.is_ascii_hexdigit() && self.guid_ahead() => {
                let text: String = (0..GUID_LEN).filter_map(|_| self.bump()).collect();
                TokenKind::Ident(text)
            }
            '.' if prev_is_space && self.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) => {
                self.bump();
                TokenKind::Command(self.word(true))
            }
            '.' => self.single(TokenKind::Dot),
            '|' => self.single(TokenKind::Pipe),
            '[' => self.bracketed()?,
            '{' => self.body()?,
            '\'' | '"' | '`' | '@' => TokenKind::Str(self.string()?),
            'h' | 'H' if matches!(self.peek(1), Some('\'' | '"' | '@')) => {
                self.bump();
                TokenKind::Str(self.string()?)
            }
            c if c.is_ascii_digit() => TokenKind::Number(self.number()),
            c if c.is_alphabetic() || c == '_' => {
                let word = self.word(false);
                // Only where a value is compared or assigned (`x == datetime(...)`,
                // `hot_window = datetime(...) .. datetime(...)`): elsewhere these words are
                // ordinary names (`.create table date(a:int)`).
                let last_two = self.out.len().checked_sub(2).map(|i| &self.out[i..]);
                let after_range = last_two.is_some_and(|t| {
                    t.iter().all(|t| t.kind == TokenKind::Dot) && t[0].end == t[1].start
                });
                let typed_literal = TYPED_LITERALS.contains(&word.as_str())
                    && (after_range
                        || matches!(
                            self.out.last().map(|t| &t.kind),
                            Some(
                                TokenKind::EqEq
                                    | TokenKind::NotEq
                                    | TokenKind::Lt
                                    | TokenKind::Le
                                    | TokenKind::Gt
                                    | TokenKind::Ge
                                    | TokenKind::Eq
                            )
                        ));
                self.push(TokenKind::Ident(word), start, line, line_begin, line_start);
                if typed_literal && self.peek(0) == Some('(') {
                    self.literal_body()?;
                }
                return Ok(());
            }
            other => {
                return Err(self.error_at(
                    start,
                    line,
                    line_begin,
                    format!("unexpected character '{other}'"),
                ));
            }
        };
        self.push(kind, start, line, line_begin, line_start);
        Ok(())
    }

    /// Records a token that began at char index `start` and ends at the current position.
    fn push(
        &mut self,
        kind: TokenKind,
        start: usize,
        line: usize,
        line_begin: usize,
        line_start: bool,
    ) {
        self.line_has_token = true;
        self.out.push(Token {
            kind,
            start: self.offset(start),
            end: self.offset(self.pos),
            line,
            col: start - line_begin,
            line_start,
        });
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.bump();
        kind
    }

    fn pair(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 2;
        kind
    }

    /// A `-` is a sign (not an error) where a value may start: at the beginning, after
    /// whitespace, `(`, `,` or a comparison.
    fn sign_allowed(&self) -> bool {
        self.pos == 0
            || matches!(
                self.chars[self.pos - 1].1,
                c if c.is_whitespace() || matches!(c, '(' | ',' | '=' | '<' | '>')
            )
    }

    /// Whether a GUID (`8-4-4-4-12` hex digits) starts here and is not part of a longer word.
    fn guid_ahead(&self) -> bool {
        let shape = (0..GUID_LEN).all(|i| match self.peek(i) {
            Some('-') => matches!(i, 8 | 13 | 18 | 23),
            Some(c) => c.is_ascii_hexdigit() && !matches!(i, 8 | 13 | 18 | 23),
            None => false,
        });
        shape
            && !self
                .peek(GUID_LEN)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
    }

    /// Digits, an optional `.digits` fraction, and any unit suffix (`1.5`, `10s`, `100ms`).
    fn number(&mut self) -> String {
        let mut s = self.word(false);
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            s.push('.');
            s.push_str(&self.word(false));
        }
        s
    }

    /// `(body)` after a typed-literal word: `(`, the body verbatim, `)`.
    fn literal_body(&mut self) -> Result<(), SyntaxError> {
        let (line, line_begin) = (self.line, self.line_begin);
        let open = self.pos;
        self.bump();
        self.push(TokenKind::LParen, open, line, line_begin, false);
        let body_start = self.pos;
        while let Some(c) = self.peek(0) {
            if c == ')' {
                let text = self.src[self.offset(body_start)..self.offset(self.pos)].to_string();
                self.push(
                    TokenKind::LiteralBody(text),
                    body_start,
                    line,
                    line_begin,
                    false,
                );
                let close = self.pos;
                self.bump();
                self.push(TokenKind::RParen, close, self.line, self.line_begin, false);
                return Ok(());
            }
            if c == '\n' {
                break;
            }
            self.bump();
        }
        Err(self.error_at(
            open,
            line,
            line_begin,
            "expected ')' to close the literal".into(),
        ))
    }

    /// Letters, digits and `_`; command verbs (`create-or-alter`) and the `skip-results`,
    /// `materialized-view` and `materialized-views` keywords also take inner hyphens.
    fn word(&mut self, command: bool) -> String {
        let mut s = String::new();
        loop {
            match self.peek(0) {
                Some(c) if c.is_alphanumeric() || c == '_' => {
                    s.push(c);
                    self.bump();
                }
                Some('-')
                    if self.peek(1).is_some_and(|c| c.is_ascii_alphabetic())
                        && (command || s == "skip" || s == "materialized") =>
                {
                    s.push('-');
                    self.bump();
                }
                _ => return s,
            }
        }
    }

    /// A `{ ... }` block up to its matching `}` ([`crate::model::function::braced_block_len`]).
    fn body(&mut self) -> Result<TokenKind, SyntaxError> {
        let (start, line, line_begin) = (self.pos, self.line, self.line_begin);
        let from = self.offset(start);
        let Some(len) = crate::model::function::braced_block_len(&self.src[from..]) else {
            return Err(self.error_at(
                start,
                line,
                line_begin,
                "expected '}' to close the block".into(),
            ));
        };
        while self.offset(self.pos) < from + len {
            self.bump();
        }
        Ok(TokenKind::Body(
            self.src[from + 1..from + len - 1].to_string(),
        ))
    }

    fn bracketed(&mut self) -> Result<TokenKind, SyntaxError> {
        let (start, line, line_begin) = (self.pos, self.line, self.line_begin);
        self.bump();
        self.skip_blanks();
        if !matches!(self.peek(0), Some('\'' | '"' | '@')) {
            return Err(self.error_at(
                start,
                line,
                line_begin,
                "expected a quoted name after '['".into(),
            ));
        }
        let name = self.string()?;
        self.skip_blanks();
        if self.bump() != Some(']') {
            return Err(self.error_at(start, line, line_begin, "expected ']'".into()));
        }
        Ok(TokenKind::Bracketed(name))
    }

    fn skip_blanks(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let (start, line, line_begin) = (self.pos, self.line, self.line_begin);
        let unterminated = |lx: &Self| {
            lx.error_at(
                start,
                line,
                line_begin,
                "unterminated string literal".into(),
            )
        };
        if self.peek(0) == Some('`') {
            if self.peek(1) != Some('`') || self.peek(2) != Some('`') {
                return Err(self.error_at(
                    start,
                    line,
                    line_begin,
                    "unexpected character '`'".into(),
                ));
            }
            self.pos += 3;
            let body_start = self.pos;
            loop {
                match self.peek(0) {
                    None => return Err(unterminated(self)),
                    Some('`') if self.peek(1) == Some('`') && self.peek(2) == Some('`') => {
                        let text =
                            self.src[self.offset(body_start)..self.offset(self.pos)].to_string();
                        self.pos += 3;
                        return Ok(text);
                    }
                    Some(_) => {
                        self.bump();
                    }
                }
            }
        }
        let verbatim = self.peek(0) == Some('@');
        if verbatim {
            self.bump();
        }
        let quote = match self.bump() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error_at(start, line, line_begin, "expected a quote".into())),
        };
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(unterminated(self));
            };
            match c {
                '\n' => return Err(unterminated(self)),
                c if c == quote && verbatim => {
                    if self.peek(0) == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                c if c == quote => return Ok(out),
                '\\' if !verbatim => out.push(self.escape(start, line, line_begin)?),
                c => out.push(c),
            }
        }
    }

    fn escape(
        &mut self,
        start: usize,
        line: usize,
        line_begin: usize,
    ) -> Result<char, SyntaxError> {
        let bad = |lx: &Self, what: &str| {
            lx.error_at(
                start,
                line,
                line_begin,
                format!("invalid escape sequence '\\{what}'"),
            )
        };
        Ok(match self.bump() {
            Some('\\') => '\\',
            Some('\'') => '\'',
            Some('"') => '"',
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('0') => '\0',
            Some('u') => {
                let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad(self, &format!("u{hex}")))?
            }
            Some(other) => return Err(bad(self, &other.to_string())),
            None => return Err(bad(self, "")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src)
            .expect("tokenize")
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn s(v: &str) -> TokenKind {
        TokenKind::Str(v.into())
    }

    fn id(v: &str) -> TokenKind {
        TokenKind::Ident(v.into())
    }

    #[test]
    fn command_words_keep_hyphens() {
        assert_eq!(
            kinds(".create-or-alter table T"),
            [
                TokenKind::Command("create-or-alter".into()),
                id("table"),
                id("T")
            ]
        );
        assert_eq!(kinds("skip-results"), [id("skip-results")]);
        // A hyphen inside an ordinary identifier is not part of it.
        assert_eq!(
            tokenize("a-b").map(|_| ()).map_err(|e| e.message),
            Err("unexpected character '-'".to_string())
        );
    }

    #[test]
    fn dotted_names_are_not_commands() {
        assert_eq!(
            kinds(".alter column ['T'].['C'] type=string"),
            [
                TokenKind::Command("alter".into()),
                id("column"),
                TokenKind::Bracketed("T".into()),
                TokenKind::Dot,
                TokenKind::Bracketed("C".into()),
                id("type"),
                TokenKind::Eq,
                id("string"),
            ]
        );
        assert_eq!(kinds("Db.T"), [id("Db"), TokenKind::Dot, id("T")]);
    }

    #[test]
    fn string_literal_forms() {
        assert_eq!(
            kinds(r#"'a\'b' "c\"d\\" 'tab\tend'"#),
            [s("a'b"), s("c\"d\\"), s("tab\tend")]
        );
        assert_eq!(kinds(r#"@'C:\x''y' @"q""q""#), [s("C:\\x'y"), s("q\"q")]);
        assert_eq!(kinds(r#"h'secret' H@"v\""#), [s("secret"), s("v\\")]);
        assert_eq!(kinds(r#"'\u0041'"#), [s("A")]);
        assert_eq!(kinds("```\n[1,\n 2]\n```"), [s("\n[1,\n 2]\n")]);
        assert_eq!(
            kinds(r#"['My Table'] ["x"]"#),
            [
                TokenKind::Bracketed("My Table".into()),
                TokenKind::Bracketed("x".into())
            ]
        );
    }

    #[test]
    fn comments_are_skipped_but_not_inside_strings() {
        assert_eq!(
            kinds("// header\n.show version // trailing\n'http://x'"),
            [
                TokenKind::Command("show".into()),
                id("version"),
                s("http://x")
            ]
        );
    }

    #[test]
    fn positions_and_line_starts() {
        let toks = tokenize(".create table T (a:int)\n  .drop table T").expect("tokenize");
        let drop = &toks[8];
        assert_eq!(drop.kind, TokenKind::Command("drop".into()));
        assert_eq!((drop.line, drop.col, drop.line_start), (2, 2, true));
        assert!(!toks[1].line_start);
        assert_eq!(
            &".create table T (a:int)\n  .drop table T"[drop.start..drop.end],
            ".drop"
        );
    }

    #[test]
    fn query_tokens_numbers_and_typed_literals() {
        assert_eq!(
            kinds("a == datetime(2024-01-01 10:00) and b != -1.5 and c <= 10s"),
            [
                id("a"),
                TokenKind::EqEq,
                id("datetime"),
                TokenKind::LParen,
                TokenKind::LiteralBody("2024-01-01 10:00".into()),
                TokenKind::RParen,
                id("and"),
                id("b"),
                TokenKind::NotEq,
                TokenKind::Number("-1.5".into()),
                id("and"),
                id("c"),
                TokenKind::Le,
                TokenKind::Number("10s".into()),
            ]
        );
        // Outside a comparison the words are names, and a GUID is one token.
        assert_eq!(
            kinds(".create table date(a:int) 609ad1e2-5b1c-4b79-90c0-1dec262e9f46 !has"),
            [
                TokenKind::Command("create".into()),
                id("table"),
                id("date"),
                TokenKind::LParen,
                id("a"),
                TokenKind::Colon,
                id("int"),
                TokenKind::RParen,
                id("609ad1e2-5b1c-4b79-90c0-1dec262e9f46"),
                TokenKind::Bang,
                id("has"),
            ]
        );
        let src = ".ingest inline into table T <| 'x,\"y";
        let (tokens, data_at) = tokenize_command(src).expect("ingest");
        assert_eq!(
            tokens.last().map(|t| &t.kind),
            Some(&TokenKind::ScriptArrow)
        );
        assert_eq!(data_at.map(|at| &src[at..]), Some(" 'x,\"y"));
        assert_eq!(tokenize_command(".show version").expect("show").1, None);
    }

    #[test]
    fn lexical_errors_report_position() {
        let err = tokenize(".show x\n  'abc").expect_err("unterminated");
        assert_eq!(
            (err.message.as_str(), err.line, err.col),
            ("unterminated string literal", 2, 2)
        );
        let err = tokenize(r"'a\qb'").expect_err("bad escape");
        assert_eq!(err.message, "invalid escape sequence '\\q'");
        let err = tokenize("[T]").expect_err("unquoted bracket");
        assert_eq!(err.message, "expected a quoted name after '['");
        let err = tokenize("```abc").expect_err("unterminated block");
        assert_eq!(err.message, "unterminated string literal");
    }
}

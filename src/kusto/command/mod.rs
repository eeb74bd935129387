//! Kusto control-command language: lexer, typed AST, parser and printer.
//!
//! The AST is the one representation of a command: kustoplan builds commands as values and
//! prints them (`Display`), the sandbox parses what it receives into the same values, so one
//! grammar decides what is valid Kusto for both.

mod ast;
mod lexer;
mod parser;
mod print;
pub mod quote;

pub use ast::*;
pub use lexer::{Token, TokenKind, tokenize, tokenize_command};
pub(crate) use print::script_header;
pub use print::timespan_literal;

use std::fmt;

/// A syntax error with the position Kusto reports (`[line:position=L:C]`, 1-based line,
/// 0-based column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 0-based column.
    pub col: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Syntax error: SYN0002: {} [line:position={}:{}]",
            self.message, self.line, self.col
        )
    }
}

impl std::error::Error for SyntaxError {}

/// Parses one control command (comments and surrounding whitespace allowed, nothing else).
/// The data of `.ingest inline ... <| data` is taken verbatim, never tokenized.
pub fn parse(csl: &str) -> Result<Command, SyntaxError> {
    let (tokens, data_at) = tokenize_command(csl)?;
    if tokens.is_empty() {
        return Err(SyntaxError {
            message: "the command text is empty".into(),
            line: 1,
            col: 0,
        });
    }
    parser::parse_top(csl, &tokens, data_at.map(|at| &csl[at..]))
}

#[cfg(test)]
mod tests;

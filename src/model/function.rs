//! Stored functions in canonical form, shared by desired state (`kind: Function` documents)
//! and observed state (the `Functions` of `.show database DB schema as json`).
//!
//! Two definitions are the same function when their names, parameters, docstrings and folders
//! are equal and their bodies differ at most in whitespace and line endings: the service
//! keeps a body as it was sent (braces included), and editors, YAML block scalars and
//! Windows checkouts all move whitespace around without changing what the function does.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ColumnType;

/// A stored function of a database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Function name.
    pub name: String,
    /// Parameters in order.
    pub parameters: Vec<Parameter>,
    /// The body without its surrounding braces, as declared or as stored (not normalised:
    /// plans and imports show it as written; [`Function::same_body`] compares it).
    pub body: String,
    /// Docstring without the ownership marker ("" and absent are the same).
    pub docstring: String,
    /// Folder ("" and absent are the same).
    pub folder: String,
    /// The stack that owns the function, from the marker in its docstring.
    pub owner: Option<String>,
    /// Desired state only: create the function without the service checking its body
    /// (`skipvalidation`). The service does not store it, so it is never compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_validation: bool,
    /// Desired state only: the function's previous name (`renamed_from`), which the plan
    /// replaces by this one while only the old name exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// One parameter: a name and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Parameter name.
    pub name: String,
    /// Its type.
    pub ty: ParameterType,
}

/// The type of a parameter. Manifests declare scalar parameters; a live function can also
/// have tabular parameters or default values, which kustoplan does not model: they are kept
/// as the schema describes them so that the plan shows them (and replaces them with the
/// declared parameters) instead of calling the functions equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    /// A scalar type.
    Scalar(ColumnType),
    /// A parameter kustoplan does not model, as CSL (`(*)`, `(a:int)`, `long = 5`).
    Unmodelled(String),
}

impl fmt::Display for ParameterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParameterType::Scalar(ty) => f.write_str(ty.as_kql()),
            ParameterType::Unmodelled(csl) => f.write_str(csl),
        }
    }
}

impl Function {
    /// The parameter list in the form `.show functions` returns it: `(a:int, b:string)`.
    pub fn parameters_text(&self) -> String {
        parameters_text(&self.parameters)
    }

    /// Whether the bodies are equal once whitespace and line endings are normalised.
    pub fn same_body(&self, other: &Function) -> bool {
        normalize_body(&self.body) == normalize_body(&other.body)
    }

    /// The scalar parameters as (name, type), or `None` when one is not modelled.
    pub fn scalar_parameters(&self) -> Option<Vec<(&str, ColumnType)>> {
        self.parameters
            .iter()
            .map(|p| match p.ty {
                ParameterType::Scalar(ty) => Some((p.name.as_str(), ty)),
                ParameterType::Unmodelled(_) => None,
            })
            .collect()
    }
}

/// `(a:int, b:string)`: the canonical parameter list.
pub fn parameters_text(parameters: &[Parameter]) -> String {
    let list: Vec<String> = parameters
        .iter()
        .map(|p| format!("{}:{}", p.name, p.ty))
        .collect();
    format!("({})", list.join(", "))
}

/// The body with whitespace normalised: line endings are `\n`, leading and trailing
/// whitespace is gone, and every other run of whitespace is one space, except where a line
/// ends a `//` comment (the line break ends the comment, so it stays one line break).
/// Whitespace inside string literals is data and is kept as written.
pub fn normalize_body(body: &str) -> String {
    let text = body.replace("\r\n", "\n").replace('\r', "\n");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    // The separator owed before the next token: none, a space, or a line break.
    let mut pending: Option<char> = None;
    let mut in_comment = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            if in_comment && c == '\n' {
                in_comment = false;
                pending = Some('\n');
            } else {
                pending.get_or_insert(' ');
            }
            i += 1;
            continue;
        }
        if let Some(sep) = pending.take()
            && !out.is_empty()
        {
            out.push(sep);
        }
        if in_comment {
            out.push(c);
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            in_comment = true;
            out.push_str("//");
            i += 2;
            continue;
        }
        let end = literal_end(&chars, i).map_or(i + 1, |(end, _)| end);
        out.extend(&chars[i..end]);
        i = end;
    }
    out
}

/// Where the string literal starting at `at` ends (one past its closing quote) and whether it
/// is closed, or `None` when no literal starts there: `'...'` and `"..."` with backslash
/// escapes, verbatim `@'...'` (doubled quotes), obfuscated `h'...'`/`h@'...'`, and multi-line
/// ```` ```...``` ````. An unclosed one-line literal ends at its line's end.
fn literal_end(chars: &[char], at: usize) -> Option<(usize, bool)> {
    let get = |i: usize| chars.get(i).copied();
    let is_quote = |c: Option<char>| matches!(c, Some('\'' | '"'));
    let (open, verbatim) = match get(at)? {
        '`' if get(at + 1) == Some('`') && get(at + 2) == Some('`') => {
            let close = (at + 3..chars.len()).find(|&i| chars[i..].starts_with(&['`', '`', '`']));
            return Some(close.map_or((chars.len(), false), |i| (i + 3, true)));
        }
        '\'' | '"' => (at, false),
        '@' if is_quote(get(at + 1)) => (at + 1, true),
        'h' | 'H' if at > 0 && is_word(chars[at - 1]) => return None,
        'h' | 'H' if is_quote(get(at + 1)) => (at + 1, false),
        'h' | 'H' if get(at + 1) == Some('@') && is_quote(get(at + 2)) => (at + 2, true),
        _ => return None,
    };
    let quote = chars[open];
    let mut i = open + 1;
    while i < chars.len() {
        let c = chars[i];
        if !verbatim && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if verbatim && get(i + 1) == Some(quote) {
                i += 2;
                continue;
            }
            return Some((i + 1, true));
        }
        if c == '\n' {
            return Some((i, false));
        }
        i += 1;
    }
    Some((chars.len(), false))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The length in bytes of the braced block that `text` starts with (`{` ... matching `}`),
/// skipping braces inside string literals and `//` comments; `None` when `text` does not
/// start with `{` or the block is not closed, and when a line inside it starts with `.`:
/// Microsoft's parser reads such a line as the start of the next command (inside
/// `.execute database script` too), so the block is cut there. The command lexer uses it to take a function
/// body verbatim, and manifest validation to check that a body cannot end its block early.
pub fn braced_block_len(text: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let plain: Vec<char> = chars.iter().map(|&(_, c)| c).collect();
    if plain.first() != Some(&'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = 0;
    let mut line_start = false;
    while i < plain.len() {
        if plain[i] == '\n' {
            line_start = true;
        } else if !plain[i].is_whitespace() {
            if line_start && plain[i] == '.' {
                return None;
            }
            line_start = false;
        }
        match plain[i] {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(chars[i].0 + 1);
                }
            }
            '/' if plain.get(i + 1) == Some(&'/') => {
                while i < plain.len() && plain[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            _ => match literal_end(&plain, i) {
                Some((end, true)) => {
                    i = end;
                    continue;
                }
                Some((_, false)) => return None,
                None => {}
            },
        }
        i += 1;
    }
    None
}

/// Why a declared body cannot be sent as it is, if it cannot: it must not be empty, no line
/// may start with `.` (the service would read a new command there), and wrapped in braces it
/// must form exactly one block, so that no `}` in it ends the function early (and no text
/// after it could be read as another command).
pub fn check_body(body: &str) -> Result<(), String> {
    if body.trim().is_empty() {
        return Err("the body is empty".into());
    }
    if let Some(n) = body
        .lines()
        .position(|line| line.trim_start().starts_with('.'))
    {
        return Err(format!(
            "line {} starts with `.`, which Kusto reads as the start of a new command",
            n + 1
        ));
    }
    let wrapped = format!("{{\n{body}\n}}");
    match braced_block_len(&wrapped) {
        Some(len) if len == wrapped.len() => Ok(()),
        Some(_) => Err("a `}` closes the body before its end".into()),
        None => Err("a `{` or a string literal in the body is never closed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_line_endings_are_not_differences() {
        let declared = "T\n| where x > 1\n| take 10\n";
        for live in [
            "T | where x > 1 | take 10",
            "  T\r\n|   where x > 1\r\n| take 10  ",
            "\n\tT\n\n| where x > 1\r| take 10",
        ] {
            assert_eq!(normalize_body(live), normalize_body(declared), "{live:?}");
        }
        assert_eq!(normalize_body(declared), "T | where x > 1 | take 10");
    }

    #[test]
    fn real_changes_are_differences() {
        let base = normalize_body("T | where x > 1");
        for changed in [
            "T | where x > 2",
            "T | where x >1",
            "T | where name == 'a  b'",
            "T|where x > 1",
        ] {
            assert_ne!(normalize_body(changed), base, "{changed:?}");
        }
        // Whitespace inside a literal is data.
        assert_ne!(
            normalize_body("T | where s == 'a  b'"),
            normalize_body("T | where s == 'a b'")
        );
        assert_eq!(
            normalize_body("T | where s == 'a  b'   | take 1"),
            "T | where s == 'a  b' | take 1"
        );
    }

    #[test]
    fn a_line_break_that_ends_a_comment_is_kept() {
        let commented = "T // keep all\n| take 1";
        assert_eq!(normalize_body(commented), "T // keep all\n| take 1");
        // Moving `| take 1` into the comment changes the function.
        assert_ne!(
            normalize_body(commented),
            normalize_body("T // keep all | take 1")
        );
        assert_eq!(
            normalize_body("T   // keep   all  \r\n\n   | take 1"),
            normalize_body(commented)
        );
    }

    #[test]
    fn braced_blocks_skip_literals_and_comments() {
        assert_eq!(braced_block_len("{ T }"), Some(5));
        assert_eq!(braced_block_len("{ T | where s == '}' } rest"), Some(22));
        assert_eq!(braced_block_len("{ T // }\n| take 1 } x"), Some(19));
        assert_eq!(braced_block_len("{ print x = @'a''}' }"), Some(21));
        assert_eq!(
            braced_block_len("{ print d = dynamic({'a': 1}) }"),
            Some(31)
        );
        assert_eq!(braced_block_len("{ T"), None);
        assert_eq!(braced_block_len("T }"), None);
        assert!(check_body("T | take 1").is_ok());
        assert!(check_body("print x = '}'").is_ok());
        assert_eq!(
            check_body("T } .drop table T ifexists {"),
            Err("a `}` closes the body before its end".to_string())
        );
        assert!(check_body("T | where s == 'open").is_err());
        assert!(check_body("  \n").is_err());
        assert_eq!(
            check_body("T\n  .5"),
            Err("line 2 starts with `.`, which Kusto reads as the start of a new command".into())
        );
        assert_eq!(braced_block_len("{ T\n  .drop table T }"), None);
    }

    #[test]
    fn parameters_read_as_show_functions_writes_them() {
        let f = Function {
            parameters: vec![
                Parameter {
                    name: "since".into(),
                    ty: ParameterType::Scalar(ColumnType::Timespan),
                },
                Parameter {
                    name: "n".into(),
                    ty: ParameterType::Scalar(ColumnType::Long),
                },
            ],
            ..Default::default()
        };
        assert_eq!(f.parameters_text(), "(since:timespan, n:long)");
        assert_eq!(
            f.scalar_parameters(),
            Some(vec![
                ("since", ColumnType::Timespan),
                ("n", ColumnType::Long)
            ])
        );
        assert_eq!(Function::default().parameters_text(), "()");
    }
}

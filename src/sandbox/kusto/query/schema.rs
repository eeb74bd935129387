//! `<query> | getschema`: the output columns of a query, typed without reading a row. This is
//! how plans check an update policy's query against its target table, so it answers only what
//! it can type exactly and says plainly what it cannot:
//!
//! ```text
//! query     := (let ';')* source ('|' operator)* ['|' 'getschema']
//! let       := 'let' Name '=' '(' ')' '{' query '}'
//! source    := Table | Function ['(' ')'] | LetName ['(' ')']
//! operator  := 'where' predicate | ('take' | 'limit') N
//!            | 'project' item (',' item)* | 'extend' item (',' item)*
//!            | 'project-away' Name (',' Name)* | 'project-rename' Name '=' Name (',' ...)*
//! item      := [Name '='] expr
//! expr      := literal | Column ('.' Name | ['name'])* | cast '(' expr ')' | now() | ingestion_time()
//! ```
//!
//! Stored functions without parameters are typed from their bodies (calls nest up to a fixed
//! depth). Anything else is refused with the service's error shape: unknown tables, columns
//! and functions as semantic errors, the rest as unsupported
//! ([`KustoError::getschema_unsupported`]).

use super::super::error::KustoError;
use super::super::state::Database;
use super::Parser;
use crate::kusto::command::{SyntaxError, TokenKind, tokenize};
use crate::model::ColumnType;

use super::plan::{Plan, Scalar, Step};
use super::{Expr, Operand};
use serde_json::Value;

/// Typed output columns: name and type, in order.
pub type Schema = Vec<(String, ColumnType)>;

/// How deep function calls may nest before typing gives up.
const MAX_DEPTH: usize = 8;

/// Why a query's schema is not known.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaError {
    /// The query is valid KQL the sandbox does not type.
    Unsupported(String),
    /// The query names something that does not exist, or misuses it.
    Semantic(String, String),
    /// The query does not parse.
    Syntax(SyntaxError),
}

impl SchemaError {
    /// The service's error for this failure.
    pub fn into_kusto(self) -> KustoError {
        match self {
            SchemaError::Unsupported(what) => KustoError::getschema_unsupported(what),
            SchemaError::Semantic(code, message) => KustoError::query_semantic(&code, message),
            SchemaError::Syntax(e) => KustoError::query_syntax(&e),
        }
    }

    /// Whether the query is wrong, as opposed to outside what the sandbox types.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, SchemaError::Unsupported(_))
    }
}

fn unsupported(what: impl Into<String>) -> SchemaError {
    SchemaError::Unsupported(what.into())
}

fn semantic(message: impl Into<String>) -> SchemaError {
    SchemaError::Semantic("SEM0100".into(), message.into())
}

/// The query without a final `| getschema`, when it has one: the queries this module answers
/// on the query endpoint.
pub fn strip_getschema(csl: &str) -> Option<&str> {
    let trimmed = csl.trim_end().trim_end_matches(';').trim_end();
    let rest = trimmed.strip_suffix("getschema")?;
    let rest = rest.trim_end().strip_suffix('|')?;
    Some(rest)
}

/// The result of `<query> | getschema`: ColumnName, ColumnOrdinal, DataType (the CLR type,
/// `System.String`), ColumnType (the KQL type, `string`), one row per column.
pub fn getschema_result(schema: &Schema) -> super::ResultTable {
    super::ResultTable {
        columns: vec![
            ("ColumnName".into(), ColumnType::String),
            ("ColumnOrdinal".into(), ColumnType::Int),
            ("DataType".into(), ColumnType::String),
            ("ColumnType".into(), ColumnType::String),
        ],
        rows: schema
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                vec![
                    name.clone().into(),
                    i.into(),
                    // getschema names bool's CLR type as queries see it (the schema JSON's
                    // `System.SByte` is the storage type).
                    if *ty == ColumnType::Bool {
                        "System.Boolean".into()
                    } else {
                        ty.as_clr().into()
                    },
                    ty.as_kql().into(),
                ]
            })
            .collect(),
    }
}

/// The output columns of `csl` (a query with optional leading `let` functions) in `db`.
pub fn query_schema(db: &Database, csl: &str) -> Result<Schema, SchemaError> {
    query_plan(db, csl).map(|(schema, _)| schema)
}

/// The output columns of `csl` and the steps that compute its rows: update policies run the
/// plan of the very query `.alter table T policy update` typed.
pub fn query_plan(db: &Database, csl: &str) -> Result<(Schema, Plan), SchemaError> {
    let statements = split_statements(csl);
    let Some((last, lets)) = statements.split_last() else {
        return Err(unsupported("an empty query"));
    };
    let mut scope = Vec::new();
    for statement in lets {
        scope.push(let_function(statement)?);
    }
    Typer {
        db,
        lets: &scope,
        depth: 0,
    }
    .tabular(last)
}

/// Statements separated by `;` outside literals, brackets, braces and comments; empty ones
/// dropped.
fn split_statements(csl: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = csl.chars().peekable();
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                current.push(c);
                while let Some(d) = chars.next() {
                    current.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            current.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
                continue;
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        current.push('\n');
                        break;
                    }
                }
                continue;
            }
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.retain(|s| !s.trim().is_empty());
    out
}

/// `let Name = () { body }`: a local function without parameters.
fn let_function(statement: &str) -> Result<(String, String), SchemaError> {
    let tokens = tokenize(statement).map_err(SchemaError::Syntax)?;
    let kinds: Vec<&TokenKind> = tokens.iter().map(|t| &t.kind).collect();
    match kinds.as_slice() {
        [
            TokenKind::Ident(kw),
            TokenKind::Ident(name) | TokenKind::Bracketed(name),
            TokenKind::Eq,
            TokenKind::LParen,
            TokenKind::RParen,
            TokenKind::Body(body),
        ] if kw == "let" => Ok((name.clone(), body.clone())),
        [TokenKind::Ident(kw), ..] if kw == "let" => Err(unsupported(
            "a 'let' statement other than a function without parameters",
        )),
        _ => Err(unsupported("a statement other than 'let' before the query")),
    }
}

struct Typer<'a> {
    db: &'a Database,
    lets: &'a [(String, String)],
    depth: usize,
}

impl Typer<'_> {
    /// The schema and plan of one tabular expression (a query or a function body).
    fn tabular(&self, text: &str) -> Result<(Schema, Plan), SchemaError> {
        let text = hyphenated_operators(text);
        let text = text.as_str();
        let tokens = tokenize(text).map_err(SchemaError::Syntax)?;
        let mut p = Parser {
            src: text,
            toks: &tokens,
            pos: 0,
        };
        let (mut schema, mut plan) = self.source(&mut p)?;
        while p.eat(&TokenKind::Pipe) {
            let (next, step) = operator(&mut p, schema)?;
            schema = next;
            plan.steps.push(step);
        }
        if p.peek().is_some() {
            return Err(unsupported(format!("{} after the query", p.found())));
        }
        Ok((schema, plan))
    }

    fn source(&self, p: &mut Parser<'_>) -> Result<(Schema, Plan), SchemaError> {
        if let Some(w @ ("let" | "print" | "datatable" | "range" | "union" | "search")) =
            p.peek_word()
        {
            return Err(unsupported(format!("'{w}'")));
        }
        let name = p
            .name()
            .map_err(|_| expected(p, "a table or function name"))?;
        let call = p.eat(&TokenKind::LParen);
        if call && !p.eat(&TokenKind::RParen) {
            return Err(unsupported(format!("calling '{name}' with arguments")));
        }
        if p.peek() == Some(&TokenKind::Dot) {
            return Err(unsupported("a qualified name"));
        }
        if let Some((_, body)) = self.lets.iter().rev().find(|(n, _)| *n == name) {
            return self.nested().and_then(|t| t.tabular(body));
        }
        if !call && let Some(t) = self.db.tables.get(&name) {
            let schema = t.columns.iter().map(|c| (c.name.clone(), c.ty)).collect();
            let plan = Plan {
                table: name,
                steps: Vec::new(),
            };
            return Ok((schema, plan));
        }
        if let Some(f) = self.db.functions.get(&name) {
            if !f.parameters.is_empty() {
                return Err(unsupported(format!(
                    "the function '{name}' with parameters"
                )));
            }
            let body = f
                .body
                .trim()
                .strip_prefix('{')
                .and_then(|b| b.strip_suffix('}'))
                .unwrap_or(&f.body);
            return self.nested().and_then(|t| t.tabular(body));
        }
        Err(semantic(if call {
            format!("Unknown function: '{name}'.")
        } else {
            format!("Failed to resolve table or column expression named '{name}'")
        }))
    }

    fn nested(&self) -> Result<Typer<'_>, SchemaError> {
        if self.depth >= MAX_DEPTH {
            return Err(unsupported(format!(
                "function calls nested more than {MAX_DEPTH} deep"
            )));
        }
        Ok(Typer {
            db: self.db,
            lets: self.lets,
            depth: self.depth + 1,
        })
    }
}

/// The command lexer reads words without hyphens: `project-away` and `project-rename` right
/// after a pipe are spelled with an underscore for it (and read back under their own names).
fn hyphenated_operators(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("project-") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let after_pipe = out.trim_end().ends_with('|');
        let word = ["project-away", "project-rename"]
            .into_iter()
            .find(|w| after.starts_with(w));
        match word {
            Some(w) if after_pipe => {
                out.push_str(&w.replace('-', "_"));
                rest = &after[w.len()..];
            }
            _ => {
                out.push_str("project-");
                rest = &after["project-".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn expected(p: &Parser<'_>, what: &str) -> SchemaError {
    SchemaError::Syntax(SyntaxError {
        message: format!("expected {what} but found {}", p.found()),
        line: p.toks.get(p.pos).map_or(1, |t| t.line),
        col: p.toks.get(p.pos).map_or(0, |t| t.col),
    })
}

fn column_type(schema: &Schema, name: &str) -> Result<ColumnType, SchemaError> {
    schema
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, ty)| *ty)
        .ok_or_else(|| {
            semantic(format!(
                "Failed to resolve scalar expression named '{name}'"
            ))
        })
}

fn operator(p: &mut Parser<'_>, schema: Schema) -> Result<(Schema, Step), SchemaError> {
    let Some(word) = p.peek_word().map(str::to_string) else {
        return Err(expected(p, "a query operator"));
    };
    p.pos += 1;
    match word.as_str() {
        "where" | "filter" => {
            let predicate = p.or().map_err(|_| {
                unsupported("a 'where' predicate other than comparisons of columns with literals")
            })?;
            check_predicate(&schema, &predicate)?;
            Ok((schema, Step::Where(predicate)))
        }
        "take" | "limit" => match p.peek().cloned() {
            Some(TokenKind::Number(n)) if n.parse::<u64>().is_ok() => {
                p.pos += 1;
                let n = n.parse::<u64>().map_err(|_| expected(p, "a row count"))?;
                Ok((schema, Step::Take(n)))
            }
            _ => Err(expected(p, "a row count")),
        },
        "project" => {
            let mut out: Schema = Vec::new();
            let mut items = Vec::new();
            loop {
                let (name, ty, scalar) = item(p, &schema)?;
                if out.iter().any(|(n, _)| *n == name) {
                    return Err(semantic(format!(
                        "'project' operator: the column '{name}' is given twice"
                    )));
                }
                out.push((name.clone(), ty));
                items.push((name, ty, scalar));
                if !p.eat(&TokenKind::Comma) {
                    return Ok((out, Step::Project(items)));
                }
            }
        }
        "extend" => {
            let mut out = schema.clone();
            let mut items = Vec::new();
            loop {
                let (name, ty, scalar) = item(p, &schema)?;
                match out.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = ty,
                    None => out.push((name.clone(), ty)),
                }
                items.push((name, ty, scalar));
                if !p.eat(&TokenKind::Comma) {
                    return Ok((out, Step::Extend(items)));
                }
            }
        }
        "project_away" => {
            let mut out = schema;
            let mut names = Vec::new();
            loop {
                let name = p.name().map_err(|_| expected(p, "a column name"))?;
                column_type(&out, &name)?;
                out.retain(|(n, _)| *n != name);
                names.push(name);
                if !p.eat(&TokenKind::Comma) {
                    return Ok((out, Step::ProjectAway(names)));
                }
            }
        }
        "project_rename" => {
            let mut out = schema;
            let mut pairs = Vec::new();
            loop {
                let new = p.name().map_err(|_| expected(p, "a column name"))?;
                if !p.eat(&TokenKind::Eq) {
                    return Err(expected(p, "'='"));
                }
                let old = p.name().map_err(|_| expected(p, "a column name"))?;
                column_type(&out, &old)?;
                for slot in out.iter_mut().filter(|(n, _)| *n == old) {
                    slot.0.clone_from(&new);
                }
                pairs.push((new, old));
                if !p.eat(&TokenKind::Comma) {
                    return Ok((out, Step::Rename(pairs)));
                }
            }
        }
        other => Err(unsupported(format!(
            "the '{}' operator",
            other.replace("project_", "project-")
        ))),
    }
}

fn check_predicate(schema: &Schema, e: &Expr) -> Result<(), SchemaError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_predicate(schema, a)?;
            check_predicate(schema, b)
        }
        Expr::Compare(Operand::Column(c), _, _) => column_type(schema, c).map(|_| ()),
        Expr::Compare(Operand::IngestionTime, _, _) => Ok(()),
    }
}

/// `[Name =] expr`: the column's name (the expression's own, when it has one), type and
/// expression.
fn item(p: &mut Parser<'_>, schema: &Schema) -> Result<(String, ColumnType, Scalar), SchemaError> {
    let named = matches!(
        (
            p.toks.get(p.pos).map(|t| &t.kind),
            p.toks.get(p.pos + 1).map(|t| &t.kind)
        ),
        (
            Some(TokenKind::Ident(_) | TokenKind::Bracketed(_)),
            Some(TokenKind::Eq)
        )
    );
    let alias = if named {
        let name = p.name().map_err(|_| expected(p, "a column name"))?;
        p.pos += 1;
        Some(name)
    } else {
        None
    };
    let (implied, ty, scalar) = expr(p, schema)?;
    match alias.or(implied) {
        Some(name) => Ok((name, ty, scalar)),
        None => Err(unsupported(
            "an unnamed computed column (write 'Name = ...')",
        )),
    }
}

/// A typed expression: the name Kusto gives it (a column or a dynamic path), its type, and
/// how to compute it.
type Typed = (Option<String>, ColumnType, Scalar);

/// The type of one expression and, for a column or a dynamic path, the name Kusto gives it.
fn expr(p: &mut Parser<'_>, schema: &Schema) -> Result<Typed, SchemaError> {
    let Some(token) = p.toks.get(p.pos).cloned() else {
        return Err(expected(p, "an expression"));
    };
    p.pos += 1;
    let result = match token.kind {
        TokenKind::Str(s) => (None, ColumnType::String, Scalar::Literal(Value::String(s))),
        TokenKind::Number(n) => {
            let (ty, cell) =
                number_literal(&n).ok_or_else(|| unsupported(format!("the literal '{n}'")))?;
            (None, ty, Scalar::Literal(cell))
        }
        TokenKind::Ident(w) if w == "true" || w == "false" => (
            None,
            ColumnType::Bool,
            Scalar::Literal(Value::Bool(w == "true")),
        ),
        TokenKind::Ident(w) if p.peek() == Some(&TokenKind::LParen) => {
            p.pos += 1;
            call(p, schema, &w)?
        }
        TokenKind::Ident(name) | TokenKind::Bracketed(name) => {
            let ty = column_type(schema, &name)?;
            path(p, name, ty)?
        }
        _ => {
            p.pos -= 1;
            return Err(expected(p, "an expression"));
        }
    };
    if let Some(TokenKind::Comma | TokenKind::Pipe) | None = p.peek() {
        Ok(result)
    } else {
        Err(unsupported(format!(
            "the expression continuing with {} (operators between values)",
            p.found()
        )))
    }
}

/// `.name` and `['name']` steps into a dynamic value: dynamic, named `Column_name`.
fn path(p: &mut Parser<'_>, name: String, ty: ColumnType) -> Result<Typed, SchemaError> {
    let mut full = name.clone();
    let mut ty = ty;
    let mut steps = Vec::new();
    loop {
        let step = match (p.peek(), p.toks.get(p.pos + 1).map(|t| &t.kind)) {
            (Some(TokenKind::Dot), Some(TokenKind::Ident(s))) => {
                let s = s.clone();
                p.pos += 2;
                s
            }
            (Some(TokenKind::Bracketed(s)), _) => {
                let s = s.clone();
                p.pos += 1;
                s
            }
            _ => return Ok((Some(full), ty, Scalar::Column(name, steps))),
        };
        if ty != ColumnType::Dynamic {
            return Err(semantic(format!(
                "The member '{step}' of '{full}' can only be read from a dynamic value"
            )));
        }
        full = format!("{full}_{step}");
        steps.push(step);
        ty = ColumnType::Dynamic;
    }
}

/// A call whose `(` was read: casts and the few functions whose type needs no arguments.
fn call(p: &mut Parser<'_>, schema: &Schema, name: &str) -> Result<Typed, SchemaError> {
    let result = match name {
        "tostring" => ColumnType::String,
        "toint" => ColumnType::Int,
        "tolong" => ColumnType::Long,
        "toreal" | "todouble" => ColumnType::Real,
        "todecimal" => ColumnType::Decimal,
        "tobool" | "toboolean" => ColumnType::Bool,
        "todatetime" => ColumnType::DateTime,
        "totimespan" | "totime" => ColumnType::Timespan,
        "toguid" => ColumnType::Guid,
        "todynamic" | "toobject" | "parse_json" => ColumnType::Dynamic,
        "now" | "ingestion_time" => ColumnType::DateTime,
        other => return Err(unsupported(format!("the function '{other}()'"))),
    };
    let scalar = match name {
        "now" => Scalar::Now,
        "ingestion_time" => Scalar::IngestionTime,
        _ => {
            let Some(token) = p.toks.get(p.pos).cloned() else {
                return Err(expected(p, "an argument"));
            };
            p.pos += 1;
            let argument = match token.kind {
                TokenKind::Str(s) => Scalar::Literal(Value::String(s)),
                TokenKind::Number(n) => match number_literal(&n) {
                    Some((_, cell)) => Scalar::Literal(cell),
                    None => return Err(unsupported(format!("the literal '{n}'"))),
                },
                TokenKind::Ident(w) if w == "true" || w == "false" => {
                    Scalar::Literal(Value::Bool(w == "true"))
                }
                TokenKind::Ident(c) | TokenKind::Bracketed(c) => {
                    let ty = column_type(schema, &c)?;
                    path(p, c, ty)?.2
                }
                _ => {
                    p.pos -= 1;
                    return Err(unsupported(format!(
                        "the argument {} of '{name}()'",
                        p.found()
                    )));
                }
            };
            Scalar::Cast(result, Box::new(argument))
        }
    };
    if !p.eat(&TokenKind::RParen) {
        return Err(unsupported(format!(
            "'{name}()' with {} (one column, path or literal argument only)",
            p.found()
        )));
    }
    Ok((None, result, scalar))
}

/// A number literal's type (`long`, `real`, or `timespan` with a unit) and its stored cell.
fn number_literal(text: &str) -> Option<(ColumnType, Value)> {
    use super::super::data::value::{Raw, convert};
    let ty = number_type(text)?;
    let cell = match ty {
        ColumnType::Timespan => Value::String(super::super::data::value::format_timespan(
            super::super::data::value::parse_timespan_literal(text)?,
        )),
        _ => convert(ty, Raw::Text(text)),
    };
    Some((ty, cell))
}

/// The type of a number literal: `long`, `real`, or `timespan` with a unit.
fn number_type(text: &str) -> Option<ColumnType> {
    if text.parse::<i64>().is_ok() {
        Some(ColumnType::Long)
    } else if text.parse::<f64>().is_ok() {
        Some(ColumnType::Real)
    } else if super::super::data::value::parse_timespan_literal(text).is_some() {
        Some(ColumnType::Timespan)
    } else {
        None
    }
}

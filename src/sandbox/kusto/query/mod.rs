//! The query subset the sandbox answers on `/v1/rest/query` and `/v2/rest/query`:
//!
//! ```text
//! query     := Table ('|' operator)*
//! operator  := 'where' predicate | ('take' | 'limit') N | 'count'
//!            | 'summarize' aggregate (',' aggregate)*
//! predicate := comparison, combined with 'and' / 'or' and parentheses
//! comparison:= (Column | ingestion_time()) ('=='|'!='|'<'|'<='|'>'|'>=') literal
//! aggregate := [Name '='] (count() | min(X) | max(X))    X: a column or ingestion_time()
//! ```
//!
//! Literals: numbers, strings, `true`/`false`, `datetime(...)`, `timespan(...)`/`time(...)`
//! or `10s`-style timespans, `guid(...)`. Result columns are named as Kusto names them
//! (`Count`, `count_`, `max_Column`, `max_$IngestionTime`). Anything else is refused with the
//! service's error shape ([`KustoError::query_unsupported`], semantic or syntax errors), never
//! answered approximately.

mod eval;
pub mod plan;
pub(super) mod response;
pub mod schema;

use super::data::value::parse_timespan_literal;
use super::error::KustoError;
use crate::kusto::command::{SyntaxError, Token, TokenKind, tokenize};
use crate::kusto::datetime::parse_datetime;

pub(super) use eval::cast;
pub use eval::{ResultTable, evaluate, rows_to_delete, run_plan};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The table the query starts from.
    pub table: String,
    /// The operators, in order.
    pub ops: Vec<Op>,
}

/// A tabular operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `where predicate`.
    Where(Expr),
    /// `take N` / `limit N`.
    Take(u64),
    /// `count`.
    Count,
    /// `summarize aggregates` (no `by`).
    Summarize(Vec<Aggregate>),
}

/// A predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// `operand op literal`.
    Compare(Operand, CmpOp, Literal),
}

/// What a comparison or aggregate reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A column by name.
    Column(String),
    /// `ingestion_time()`.
    IngestionTime,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer (`long`).
    Long(i64),
    /// A real number.
    Real(f64),
    /// A string.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// `datetime(...)`, in ticks since the Unix epoch.
    DateTime(i64),
    /// A timespan, in ticks.
    Timespan(i64),
    /// `guid(...)`, lowercase hyphenated.
    Guid(String),
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count()`.
    Count,
    /// `min(X)`.
    Min,
    /// `max(X)`.
    Max,
}

/// One aggregate of `summarize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// `Name =`, if given.
    pub alias: Option<String>,
    /// The function.
    pub func: AggFunc,
    /// Its argument (none for `count()`).
    pub arg: Option<Operand>,
}

/// Tabular operators of KQL the sandbox does not evaluate (refused as unsupported rather than
/// as syntax errors).
const OTHER_OPERATORS: [&str; 24] = [
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "extend",
    "sort",
    "order",
    "top",
    "distinct",
    "join",
    "union",
    "lookup",
    "mv-expand",
    "parse",
    "render",
    "sample",
    "search",
    "serialize",
    "as",
    "getschema",
    "evaluate",
    "invoke",
    "make-series",
    "partition",
];

/// Parses query text (not a control command).
pub fn parse(csl: &str) -> Result<Query, KustoError> {
    let tokens = tokenize(csl).map_err(|e| KustoError::query_syntax(&e))?;
    let mut p = Parser {
        src: csl,
        toks: &tokens,
        pos: 0,
    };
    p.query()
}

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&TokenKind> {
        self.toks.get(self.pos).map(|t| &t.kind)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(TokenKind::Ident(w)) => Some(w),
            _ => None,
        }
    }

    fn syntax(&self, message: String) -> KustoError {
        let (line, col) = match self.toks.get(self.pos) {
            Some(t) => (t.line, t.col),
            None => {
                let before = &self.src[..self.toks.last().map_or(0, |t| t.end)];
                (
                    before.matches('\n').count() + 1,
                    before.rsplit('\n').next().map_or(0, |l| l.chars().count()),
                )
            }
        };
        KustoError::query_syntax(&SyntaxError { message, line, col })
    }

    fn found(&self) -> String {
        match self.toks.get(self.pos) {
            Some(t) => format!("'{}'", &self.src[t.start..t.end]),
            None => "end of query".into(),
        }
    }

    fn expected(&self, what: &str) -> KustoError {
        self.syntax(format!("expected {what} but found {}", self.found()))
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let hit = self.peek() == Some(kind);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<(), KustoError> {
        if self.eat(&kind) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = self.peek_word() == Some(word);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn name(&mut self) -> Result<String, KustoError> {
        match self.peek() {
            Some(TokenKind::Ident(s) | TokenKind::Bracketed(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.expected("a name")),
        }
    }

    fn query(&mut self) -> Result<Query, KustoError> {
        if let Some(w @ ("let" | "print" | "datatable" | "range" | "union" | "search")) =
            self.peek_word()
        {
            return Err(KustoError::query_unsupported(format!("'{w}'")));
        }
        let table = self.name()?;
        if self.peek() == Some(&TokenKind::LParen) || self.peek() == Some(&TokenKind::Dot) {
            return Err(KustoError::query_unsupported(
                "a source other than a table name",
            ));
        }
        let mut ops = Vec::new();
        while self.eat(&TokenKind::Pipe) {
            ops.push(self.operator()?);
        }
        match self.peek() {
            None => Ok(Query { table, ops }),
            Some(TokenKind::Ident(w)) if w == "by" => {
                Err(KustoError::query_unsupported("'summarize ... by'"))
            }
            Some(_) => Err(self.syntax(format!("unexpected {} in the query", self.found()))),
        }
    }

    fn operator(&mut self) -> Result<Op, KustoError> {
        let Some(word) = self.peek_word().map(str::to_string) else {
            return Err(self.expected("a query operator"));
        };
        self.pos += 1;
        match word.as_str() {
            "where" | "filter" => Ok(Op::Where(self.or()?)),
            "take" | "limit" => match self.peek() {
                Some(TokenKind::Number(n)) => {
                    let n = n.parse::<u64>().map_err(|_| self.expected("a row count"))?;
                    self.pos += 1;
                    Ok(Op::Take(n))
                }
                _ => Err(self.expected("a row count")),
            },
            "count" => Ok(Op::Count),
            "summarize" => {
                let mut aggs = vec![self.aggregate()?];
                while self.eat(&TokenKind::Comma) {
                    aggs.push(self.aggregate()?);
                }
                Ok(Op::Summarize(aggs))
            }
            other if OTHER_OPERATORS.contains(&other) => Err(KustoError::query_unsupported(
                format!("the '{other}' operator"),
            )),
            other => Err(KustoError::query_semantic(
                "SEM0100",
                format!("'{other}' is not a known query operator"),
            )),
        }
    }

    fn or(&mut self) -> Result<Expr, KustoError> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, KustoError> {
        let mut left = self.primary()?;
        while self.eat_word("and") {
            left = Expr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, KustoError> {
        if self.eat(&TokenKind::LParen) {
            let inner = self.or()?;
            self.expect(TokenKind::RParen, "')'")?;
            return Ok(inner);
        }
        let operand = self.operand()?;
        let op = match self.peek() {
            Some(TokenKind::EqEq) => CmpOp::Eq,
            Some(TokenKind::NotEq) => CmpOp::Ne,
            Some(TokenKind::Lt) => CmpOp::Lt,
            Some(TokenKind::Le) => CmpOp::Le,
            Some(TokenKind::Gt) => CmpOp::Gt,
            Some(TokenKind::Ge) => CmpOp::Ge,
            Some(TokenKind::Ident(w)) => {
                return Err(KustoError::query_unsupported(format!(
                    "the '{w}' operator in 'where'"
                )));
            }
            Some(TokenKind::Bang) => {
                return Err(KustoError::query_unsupported(
                    "a negated string operator in 'where'",
                ));
            }
            _ => return Err(self.expected("a comparison operator")),
        };
        self.pos += 1;
        Ok(Expr::Compare(operand, op, self.literal()?))
    }

    fn operand(&mut self) -> Result<Operand, KustoError> {
        let name = self.name()?;
        if self.eat(&TokenKind::LParen) {
            if name != "ingestion_time" {
                return Err(KustoError::query_unsupported(format!(
                    "the function '{name}()'"
                )));
            }
            self.expect(TokenKind::RParen, "')'")?;
            return Ok(Operand::IngestionTime);
        }
        Ok(Operand::Column(name))
    }

    fn literal(&mut self) -> Result<Literal, KustoError> {
        let Some(kind) = self.peek().cloned() else {
            return Err(self.expected("a literal"));
        };
        self.pos += 1;
        match kind {
            TokenKind::Str(s) => Ok(Literal::Str(s)),
            TokenKind::Number(n) => number(&n).ok_or_else(|| {
                self.pos -= 1;
                self.expected("a number or timespan literal")
            }),
            TokenKind::Ident(w) if w == "true" || w == "false" => Ok(Literal::Bool(w == "true")),
            TokenKind::Ident(w) if self.peek() == Some(&TokenKind::LParen) => {
                let body = match (self.toks.get(self.pos + 1), self.toks.get(self.pos + 2)) {
                    (
                        Some(Token {
                            kind: TokenKind::LiteralBody(b),
                            ..
                        }),
                        Some(Token {
                            kind: TokenKind::RParen,
                            ..
                        }),
                    ) => b.clone(),
                    _ => {
                        return Err(KustoError::query_unsupported(format!(
                            "the literal or function '{w}(...)'"
                        )));
                    }
                };
                self.pos += 3;
                let bad = || {
                    KustoError::query_syntax(&SyntaxError {
                        message: format!("'{body}' is not a valid {w} literal"),
                        line: 1,
                        col: 0,
                    })
                };
                match w.as_str() {
                    "datetime" | "date" => {
                        parse_datetime(&body).map(Literal::DateTime).ok_or_else(bad)
                    }
                    "timespan" | "time" => parse_timespan_literal(&body)
                        .map(Literal::Timespan)
                        .ok_or_else(bad),
                    _ => uuid::Uuid::parse_str(body.trim())
                        .map(|g| Literal::Guid(g.hyphenated().to_string()))
                        .map_err(|_| bad()),
                }
            }
            TokenKind::Ident(w) => Err(KustoError::query_unsupported(format!(
                "comparing with '{w}' (the sandbox compares columns with literals only)"
            ))),
            _ => {
                self.pos -= 1;
                Err(self.expected("a literal"))
            }
        }
    }

    fn aggregate(&mut self) -> Result<Aggregate, KustoError> {
        let first = self.name()?;
        let (alias, func) = if self.eat(&TokenKind::Eq) {
            (Some(first), self.name()?)
        } else {
            (None, first)
        };
        let func = match func.as_str() {
            "count" => AggFunc::Count,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            other => {
                return Err(KustoError::query_unsupported(format!(
                    "the aggregate '{other}()'"
                )));
            }
        };
        self.expect(TokenKind::LParen, "'('")?;
        let arg = if func == AggFunc::Count {
            None
        } else {
            Some(self.operand()?)
        };
        if func == AggFunc::Count && self.peek() != Some(&TokenKind::RParen) {
            return Err(KustoError::query_unsupported("count() with an argument"));
        }
        self.expect(TokenKind::RParen, "')'")?;
        Ok(Aggregate { alias, func, arg })
    }
}

/// A number literal: integer, real, or a timespan with a unit (`10s`, `1.5h` is refused).
fn number(text: &str) -> Option<Literal> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Literal::Long(i));
    }
    if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"-.eE".contains(&b))
    {
        return text.parse::<f64>().ok().map(Literal::Real);
    }
    parse_timespan_literal(text).map(Literal::Timespan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Operand {
        Operand::Column(name.into())
    }

    #[test]
    fn parses_the_subset() {
        assert_eq!(
            parse("T | count").expect("count"),
            Query {
                table: "T".into(),
                ops: vec![Op::Count]
            }
        );
        let q =
            parse("['My T'] | where A == 1 and (B != 'x' or C >= datetime(2024-01-01)) | take 5")
                .expect("where");
        assert_eq!(q.table, "My T");
        assert_eq!(
            q.ops,
            vec![
                Op::Where(Expr::And(
                    Box::new(Expr::Compare(col("A"), CmpOp::Eq, Literal::Long(1))),
                    Box::new(Expr::Or(
                        Box::new(Expr::Compare(col("B"), CmpOp::Ne, Literal::Str("x".into()))),
                        Box::new(Expr::Compare(
                            col("C"),
                            CmpOp::Ge,
                            Literal::DateTime(parse_datetime("2024-01-01").expect("dt"))
                        )),
                    )),
                )),
                Op::Take(5)
            ]
        );
        let q = parse("T | summarize n=count(), max(ingestion_time()) | limit 1").expect("sum");
        assert_eq!(
            q.ops[0],
            Op::Summarize(vec![
                Aggregate {
                    alias: Some("n".into()),
                    func: AggFunc::Count,
                    arg: None
                },
                Aggregate {
                    alias: None,
                    func: AggFunc::Max,
                    arg: Some(Operand::IngestionTime)
                },
            ])
        );
        let q = parse(
            "T | where D > 10s and R < -1.5 and G == guid(6B4C0AB2-180E-46D8-B97E-593E6AEA1E7A)",
        )
        .expect("literals");
        let Op::Where(Expr::And(left, g)) = &q.ops[0] else {
            panic!("{q:?}");
        };
        assert_eq!(
            **g,
            Expr::Compare(
                col("G"),
                CmpOp::Eq,
                Literal::Guid("6b4c0ab2-180e-46d8-b97e-593e6aea1e7a".into())
            )
        );
        assert_eq!(
            **left,
            Expr::And(
                Box::new(Expr::Compare(
                    col("D"),
                    CmpOp::Gt,
                    Literal::Timespan(100_000_000)
                )),
                Box::new(Expr::Compare(col("R"), CmpOp::Lt, Literal::Real(-1.5))),
            )
        );
    }

    #[test]
    fn outside_the_subset_is_refused_in_the_error_shape() {
        let inner = |q: &str| {
            let e = parse(q).expect_err(q);
            assert_eq!(
                (e.status, e.code.as_str()),
                (400, "General_BadRequest"),
                "{q}"
            );
            e.inner.expect("inner error").exception_type
        };
        for q in [
            "T | project A",
            "T | summarize count() by A",
            "T | where A has 'x'",
            "T | where tolower(A) == 'x'",
            "T | summarize sum(A)",
            "print 1",
        ] {
            assert_eq!(
                inner(q),
                "Kusto.Data.Exceptions.KustoBadRequestException",
                "{q}"
            );
        }
        for q in ["T | where A ==", "T | take", "T |", "T | where (A == 1"] {
            assert_eq!(inner(q), "Kusto.Data.Exceptions.SyntaxException", "{q}");
        }
        assert_eq!(
            inner("T | frobnicate"),
            "Kusto.Data.Exceptions.SemanticException"
        );
    }
}

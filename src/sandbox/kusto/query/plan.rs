//! A typed query as steps the row evaluator can run: what [`schema::query_plan`]
//! (super::schema::query_plan) builds alongside the output schema, so that update policies
//! run exactly the queries `.alter table T policy update` typed, with functions inlined.

use serde_json::Value;

use super::Expr;
use crate::model::ColumnType;

/// A query with its stored functions inlined: the table it reads and the operators after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The table the innermost source names (an update policy's source means its new rows).
    pub table: String,
    /// The operators, in order.
    pub steps: Vec<Step>,
}

/// One tabular operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `where predicate`.
    Where(Expr),
    /// `take N`.
    Take(u64),
    /// `project item, ...`: exactly these columns (name, type, value).
    Project(Vec<(String, ColumnType, Scalar)>),
    /// `extend item, ...`: replaces or appends columns, each computed from the input row.
    Extend(Vec<(String, ColumnType, Scalar)>),
    /// `project-away Name, ...`.
    ProjectAway(Vec<String>),
    /// `project-rename New = Old, ...`.
    Rename(Vec<(String, String)>),
}

/// A scalar expression of `project` or `extend`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A literal, as a stored cell of its type.
    Literal(Value),
    /// A column, then property steps into its dynamic value (`Raw.a['b']`).
    Column(String, Vec<String>),
    /// A cast (`tostring(...)`, `todynamic(...)`, ...) to the type.
    Cast(ColumnType, Box<Scalar>),
    /// `now()`.
    Now,
    /// `ingestion_time()`.
    IngestionTime,
}

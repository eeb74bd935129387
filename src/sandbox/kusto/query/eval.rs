//! Evaluates a parsed [`Query`] against one table's rows. Every operator is type-checked
//! against the columns before any row is read, so a bad query fails the same way on an empty
//! table as on a full one.

use std::cmp::Ordering;

use serde_json::Value;

use super::super::data::value::Scalar;
use super::super::error::KustoError;
use super::super::state::Table;
use super::{AggFunc, Aggregate, CmpOp, Expr, Literal, Op, Operand, Query};
use crate::kusto::datetime::parse_datetime;
use crate::model::ColumnType;

mod steps;

pub(in super::super) use steps::cast;
pub use steps::run_plan;

/// A query result: typed columns and rows of cells in their v2 form.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    /// Column names and types.
    pub columns: Vec<(String, ColumnType)>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<Value>>,
}

/// One row while the query runs: its cells and, until an aggregation, its ingestion time.
struct Row {
    cells: Vec<Value>,
    ingested: Option<i64>,
}

/// The table flowing between operators.
struct Frame {
    columns: Vec<(String, ColumnType)>,
    rows: Vec<Row>,
    /// Whether rows still carry their ingestion time (until `count` or `summarize`).
    has_ingestion_time: bool,
}

/// A resolved operand: a column index or the ingestion time, with its type.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Column(usize, ColumnType),
    IngestionTime,
}

impl Slot {
    fn ty(self) -> ColumnType {
        match self {
            Slot::Column(_, ty) => ty,
            Slot::IngestionTime => ColumnType::DateTime,
        }
    }

    fn read(self, row: &Row) -> Scalar {
        match self {
            Slot::Column(i, ty) => row
                .cells
                .get(i)
                .and_then(|c| Scalar::from_cell(ty, c))
                .unwrap_or(Scalar::Null),
            Slot::IngestionTime => row.ingested.map_or(Scalar::Null, Scalar::DateTime),
        }
    }
}

/// A type-checked predicate.
enum Check {
    And(Box<Check>, Box<Check>),
    Or(Box<Check>, Box<Check>),
    Compare(Slot, CmpOp, Scalar),
}

impl Check {
    fn holds(&self, row: &Row) -> bool {
        match self {
            Check::And(a, b) => a.holds(row) && b.holds(row),
            Check::Or(a, b) => a.holds(row) || b.holds(row),
            Check::Compare(slot, op, literal) => {
                let Some(ord) = slot.read(row).compare(literal) else {
                    // Null on either side: the comparison is null and the row is dropped.
                    return false;
                };
                match op {
                    CmpOp::Eq => ord == Ordering::Equal,
                    CmpOp::Ne => ord != Ordering::Equal,
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Le => ord != Ordering::Greater,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Ge => ord != Ordering::Less,
                }
            }
        }
    }
}

fn literal_type(l: &Literal) -> &'static str {
    match l {
        Literal::Long(_) => "long",
        Literal::Real(_) => "real",
        Literal::Str(_) => "string",
        Literal::Bool(_) => "bool",
        Literal::DateTime(_) => "datetime",
        Literal::Timespan(_) => "timespan",
        Literal::Guid(_) => "guid",
    }
}

/// The literal as a scalar comparable with values of `ty`, or the service's error.
fn typed_literal(ty: ColumnType, op: CmpOp, l: &Literal) -> Result<Scalar, KustoError> {
    let ordered = !matches!(op, CmpOp::Eq | CmpOp::Ne);
    let scalar = match (ty, l) {
        (ColumnType::Int | ColumnType::Long | ColumnType::Real, Literal::Long(i)) => {
            Scalar::Long(*i)
        }
        (ColumnType::Int | ColumnType::Long | ColumnType::Real, Literal::Real(f)) => {
            Scalar::Real(*f)
        }
        (ColumnType::DateTime, Literal::DateTime(t)) => Scalar::DateTime(*t),
        (ColumnType::Timespan, Literal::Timespan(t)) => Scalar::Timespan(*t),
        (ColumnType::String, Literal::Str(s)) if !ordered => Scalar::Str(s.clone()),
        (ColumnType::Bool, Literal::Bool(b)) if !ordered => Scalar::Bool(*b),
        (ColumnType::Guid, Literal::Guid(g)) if !ordered => Scalar::Guid(g.clone()),
        (ColumnType::Dynamic | ColumnType::Decimal, _) => {
            return Err(KustoError::query_unsupported(format!(
                "comparing a {ty} column"
            )));
        }
        (ColumnType::String | ColumnType::Bool | ColumnType::Guid, _) if ordered => {
            return Err(KustoError::query_semantic(
                "KS106",
                format!(
                    "The operator '{}' is not defined for the operand types {ty} and {}.",
                    op.text(),
                    literal_type(l)
                ),
            ));
        }
        _ => {
            return Err(KustoError::query_semantic(
                "KS106",
                format!(
                    "Cannot compare values of types {ty} and {}. Try adding explicit casts.",
                    literal_type(l)
                ),
            ));
        }
    };
    Ok(scalar)
}

impl Frame {
    fn of(table: &Table) -> Frame {
        let columns: Vec<(String, ColumnType)> = table
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        let mut rows = Vec::new();
        for extent in &table.extents {
            let ingested = parse_datetime(&extent.created_on);
            for i in 0..extent.rows.len() {
                let cells = columns
                    .iter()
                    .map(|(name, ty)| match extent.cell(i, name) {
                        // Kusto strings are never null.
                        Value::Null if *ty == ColumnType::String => Value::String(String::new()),
                        v => v,
                    })
                    .collect();
                rows.push(Row { cells, ingested });
            }
        }
        Frame {
            columns,
            rows,
            has_ingestion_time: true,
        }
    }

    fn slot(&self, operand: &Operand, operator: &str) -> Result<Slot, KustoError> {
        match operand {
            Operand::Column(name) => self
                .columns
                .iter()
                .position(|(n, _)| n == name)
                .map(|i| Slot::Column(i, self.columns[i].1))
                .ok_or_else(|| {
                    KustoError::query_semantic(
                        "SEM0100",
                        format!("'{operator}' operator: Failed to resolve scalar expression named '{name}'"),
                    )
                }),
            Operand::IngestionTime if self.has_ingestion_time => Ok(Slot::IngestionTime),
            Operand::IngestionTime => Err(KustoError::query_unsupported(
                "ingestion_time() after 'count' or 'summarize'",
            )),
        }
    }

    fn check(&self, e: &Expr) -> Result<Check, KustoError> {
        Ok(match e {
            Expr::And(a, b) => Check::And(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::Or(a, b) => Check::Or(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::Compare(operand, op, literal) => {
                let slot = self.slot(operand, "where")?;
                Check::Compare(slot, *op, typed_literal(slot.ty(), *op, literal)?)
            }
        })
    }

    fn summarize(self, aggs: &[Aggregate]) -> Result<Frame, KustoError> {
        let mut columns = Vec::with_capacity(aggs.len());
        let mut cells = Vec::with_capacity(aggs.len());
        for agg in aggs {
            let (name, ty, cell) = match (agg.func, &agg.arg) {
                (AggFunc::Count, _) => (
                    "count_".to_string(),
                    ColumnType::Long,
                    Value::from(self.rows.len() as u64),
                ),
                (func, Some(operand)) => {
                    let slot = self.slot(operand, "summarize")?;
                    let ty = slot.ty();
                    if !matches!(
                        ty,
                        ColumnType::Int
                            | ColumnType::Long
                            | ColumnType::Real
                            | ColumnType::DateTime
                            | ColumnType::Timespan
                    ) {
                        return Err(KustoError::query_unsupported(format!(
                            "min() and max() of a {ty} column"
                        )));
                    }
                    let prefix = if func == AggFunc::Min { "min" } else { "max" };
                    let source = match operand {
                        Operand::Column(c) => c.clone(),
                        Operand::IngestionTime => "$IngestionTime".to_string(),
                    };
                    let best = self
                        .rows
                        .iter()
                        .map(|r| slot.read(r))
                        .filter(|s| *s != Scalar::Null)
                        .fold(None::<Scalar>, |best, s| match best {
                            None => Some(s),
                            Some(b) => {
                                let better = match s.compare(&b) {
                                    Some(Ordering::Less) => func == AggFunc::Min,
                                    Some(Ordering::Greater) => func == AggFunc::Max,
                                    _ => false,
                                };
                                Some(if better { s } else { b })
                            }
                        });
                    (
                        format!("{prefix}_{source}"),
                        ty,
                        best.map_or(Value::Null, |s| s.to_cell()),
                    )
                }
                (_, None) => {
                    return Err(KustoError::query_unsupported(
                        "min() or max() without an argument",
                    ));
                }
            };
            let name = agg.alias.clone().unwrap_or(name);
            if columns.iter().any(|(n, _)| *n == name) {
                return Err(KustoError::query_unsupported(format!(
                    "two summarize results named '{name}'"
                )));
            }
            columns.push((name, ty));
            cells.push(cell);
        }
        Ok(Frame {
            columns,
            rows: vec![Row {
                cells,
                ingested: None,
            }],
            has_ingestion_time: false,
        })
    }
}

/// Runs `query` over `table`.
pub fn evaluate(query: &Query, table: &Table) -> Result<ResultTable, KustoError> {
    let mut frame = Frame::of(table);
    for op in &query.ops {
        frame = match op {
            Op::Where(e) => {
                let check = frame.check(e)?;
                let rows = frame.rows.into_iter().filter(|r| check.holds(r)).collect();
                Frame { rows, ..frame }
            }
            Op::Take(n) => {
                let mut rows = frame.rows;
                rows.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
                Frame { rows, ..frame }
            }
            Op::Count => Frame {
                columns: vec![("Count".to_string(), ColumnType::Long)],
                rows: vec![Row {
                    cells: vec![Value::from(frame.rows.len() as u64)],
                    ingested: None,
                }],
                has_ingestion_time: false,
            },
            Op::Summarize(aggs) => frame.summarize(aggs)?,
        };
    }
    Ok(ResultTable {
        columns: frame.columns,
        rows: frame.rows.into_iter().map(|r| r.cells).collect(),
    })
}

/// For `.delete table T records <| T | where ...`: per extent (in table order), which rows
/// the predicate query selects. The docs allow only `where` (plus `extend`/`project`, which
/// the sandbox does not evaluate) and require at least one `where`; anything else is refused.
pub fn rows_to_delete(query: &Query, table: &Table) -> Result<Vec<Vec<bool>>, KustoError> {
    let frame = Frame::of(table);
    let mut checks = Vec::new();
    for op in &query.ops {
        match op {
            Op::Where(e) => checks.push(frame.check(e)?),
            _ => {
                return Err(KustoError::bad_request(
                    "The predicate of '.delete table records' may use only 'where' operators.",
                ));
            }
        }
    }
    if checks.is_empty() {
        return Err(KustoError::bad_request(
            "The predicate of '.delete table records' must have at least one 'where' operator.",
        ));
    }
    let mut rows = frame.rows.iter();
    Ok(table
        .extents
        .iter()
        .map(|extent| {
            rows.by_ref()
                .take(extent.rows.len())
                .map(|r| checks.iter().all(|c| c.holds(r)))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::sandbox::kusto::state::{Column, Extent};
    use serde_json::json;

    fn table() -> Table {
        let col = |name: &str, ty| Column {
            name: name.into(),
            ty,
            data_nulled: false,
        };
        let mut t = Table::new(
            "T".into(),
            vec![
                col("Id", ColumnType::Long),
                col("Name", ColumnType::String),
                col("At", ColumnType::DateTime),
                col("Added", ColumnType::Int),
            ],
        );
        let extent = |created: &str, rows: Vec<Vec<Value>>| Extent {
            id: created.into(),
            created_on: created.into(),
            tags: vec![],
            original_size: 0,
            columns: vec!["Id".into(), "Name".into(), "At".into()],
            rows,
        };
        t.extents = vec![
            extent(
                "2024-01-01T00:00:00.0000000Z",
                vec![
                    vec![json!(1), json!("a"), json!("2023-06-01T00:00:00Z")],
                    vec![json!(2), json!("b"), Value::Null],
                ],
            ),
            extent(
                "2024-01-02T00:00:00.5000000Z",
                vec![vec![json!(3), json!("a"), json!("2023-07-01T00:00:00Z")]],
            ),
        ];
        t
    }

    fn run(q: &str) -> ResultTable {
        evaluate(&parse(q).expect("parse"), &table()).expect("evaluate")
    }

    #[test]
    fn count_where_take_and_summarize() {
        assert_eq!(run("T | count").rows, vec![vec![json!(3)]]);
        assert_eq!(
            run("T | count").columns,
            vec![("Count".to_string(), ColumnType::Long)]
        );
        let r = run("T | where Name == 'a' | take 1");
        assert_eq!(
            r.rows,
            vec![vec![
                json!(1),
                json!("a"),
                json!("2023-06-01T00:00:00Z"),
                Value::Null
            ]]
        );
        assert_eq!(run("T | where Id > 1 and Name != 'b'").rows.len(), 1);
        assert_eq!(run("T | where Id < 2 or Id >= 3").rows.len(), 2);
        assert_eq!(
            run("T | where At < datetime(2023-06-15)").rows.len(),
            1,
            "null datetimes never match"
        );
        assert_eq!(
            run("T | where Added == 1").rows.len(),
            0,
            "a column added later is null"
        );
        assert_eq!(
            run("T | where ingestion_time() > datetime(2024-01-01T12:00)")
                .rows
                .len(),
            1
        );
        let s = run("T | summarize count(), max(ingestion_time())");
        assert_eq!(
            s.columns,
            vec![
                ("count_".to_string(), ColumnType::Long),
                ("max_$IngestionTime".to_string(), ColumnType::DateTime)
            ]
        );
        assert_eq!(
            s.rows,
            vec![vec![json!(3), json!("2024-01-02T00:00:00.5Z")]]
        );
        let s = run(
            "T | where Id > 99 | summarize n=count(), last=max(ingestion_time()), first=min(Id)",
        );
        assert_eq!(
            s.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["n", "last", "first"]
        );
        assert_eq!(s.rows, vec![vec![json!(0), Value::Null, Value::Null]]);
        assert_eq!(run("T | summarize max(Id)").columns[0].0, "max_Id");
    }

    #[test]
    fn type_and_name_errors_do_not_depend_on_rows() {
        let err = |q: &str| {
            evaluate(
                &parse(q).expect("parse"),
                &Table::new("T".into(), table().columns),
            )
            .expect_err(q)
        };
        let e = err("T | where Nope == 1");
        assert_eq!(
            e.inner.expect("inner").message,
            "'where' operator: Failed to resolve scalar expression named 'Nope'"
        );
        assert_eq!(
            err("T | where Id == 'x'").inner.expect("inner").code,
            "KS106"
        );
        assert_eq!(
            err("T | where Name < 'x'").inner.expect("inner").code,
            "KS106"
        );
        assert_eq!(
            err("T | count | where ingestion_time() > datetime(2024-01-01)").status,
            400
        );
        assert_eq!(
            err("T | count | where Id == 1").inner.expect("inner").code,
            "SEM0100"
        );
    }
}

//! Runs a [`Plan`] (a typed query with its functions inlined) over rows: how update policies
//! compute the rows they append. `where` reuses the evaluator's type-checked predicates; the
//! projection operators compute cells in their stored form.

use serde_json::Value;

use super::super::super::clock;
use super::super::super::data::value::{Raw, convert};
use super::super::super::error::KustoError;
use super::super::super::state::{Extent, Table};
use super::super::plan::{Plan, Scalar, Step};
use super::{Frame, ResultTable, Row};
use crate::kusto::datetime::format_datetime;
use crate::model::ColumnType;

/// Runs `plan` where its table is `source` (whose rows are only `new_rows`, the new extent)
/// or another table of the database (read whole).
pub fn run_plan(
    plan: &Plan,
    source: &Table,
    new_rows: &Extent,
    other: impl Fn(&str) -> Option<Table>,
) -> Result<ResultTable, KustoError> {
    let mut frame = if plan.table == source.name {
        let mut only_new = Table::new(source.name.clone(), source.columns.clone());
        only_new.extents = vec![new_rows.clone()];
        Frame::of(&only_new)
    } else {
        let table = other(&plan.table).ok_or_else(|| {
            KustoError::query_semantic(
                "SEM0100",
                format!(
                    "'table' operator: Failed to resolve table expression named '{}'",
                    plan.table
                ),
            )
        })?;
        Frame::of(&table)
    };
    for step in &plan.steps {
        frame = apply(frame, step)?;
    }
    Ok(ResultTable {
        columns: frame.columns,
        rows: frame.rows.into_iter().map(|r| r.cells).collect(),
    })
}

fn apply(frame: Frame, step: &Step) -> Result<Frame, KustoError> {
    Ok(match step {
        Step::Where(e) => {
            let check = frame.check(e)?;
            let rows = frame.rows.into_iter().filter(|r| check.holds(r)).collect();
            Frame { rows, ..frame }
        }
        Step::Take(n) => {
            let mut rows = frame.rows;
            rows.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
            Frame { rows, ..frame }
        }
        Step::Project(items) => {
            let rows = frame
                .rows
                .iter()
                .map(|r| {
                    let cells = items
                        .iter()
                        .map(|(_, _, s)| value(&frame, r, s))
                        .collect::<Result<_, _>>()?;
                    Ok(Row {
                        cells,
                        ingested: r.ingested,
                    })
                })
                .collect::<Result<_, KustoError>>()?;
            Frame {
                columns: items.iter().map(|(n, ty, _)| (n.clone(), *ty)).collect(),
                rows,
                has_ingestion_time: frame.has_ingestion_time,
            }
        }
        Step::Extend(items) => {
            let mut columns = frame.columns.clone();
            for (name, ty, _) in items {
                match columns.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = *ty,
                    None => columns.push((name.clone(), *ty)),
                }
            }
            let mut rows = Vec::with_capacity(frame.rows.len());
            for r in &frame.rows {
                let mut cells = r.cells.clone();
                for (name, _, s) in items {
                    let v = value(&frame, r, s)?;
                    match columns.iter().position(|(n, _)| n == name) {
                        Some(i) if i < cells.len() => cells[i] = v,
                        _ => cells.push(v),
                    }
                }
                rows.push(Row {
                    cells,
                    ingested: r.ingested,
                });
            }
            Frame {
                columns,
                rows,
                has_ingestion_time: frame.has_ingestion_time,
            }
        }
        Step::ProjectAway(names) => {
            let keep: Vec<bool> = frame
                .columns
                .iter()
                .map(|(n, _)| !names.contains(n))
                .collect();
            let pick = |v: Vec<Value>| -> Vec<Value> {
                v.into_iter()
                    .zip(&keep)
                    .filter_map(|(c, k)| k.then_some(c))
                    .collect()
            };
            let columns = frame
                .columns
                .into_iter()
                .zip(&keep)
                .filter_map(|(c, k)| k.then_some(c))
                .collect();
            let rows = frame
                .rows
                .into_iter()
                .map(|r| Row {
                    cells: pick(r.cells),
                    ingested: r.ingested,
                })
                .collect();
            Frame {
                columns,
                rows,
                has_ingestion_time: frame.has_ingestion_time,
            }
        }
        Step::Rename(pairs) => {
            let mut columns = frame.columns;
            for (new, old) in pairs {
                for slot in columns.iter_mut().filter(|(n, _)| n == old) {
                    slot.0.clone_from(new);
                }
            }
            Frame { columns, ..frame }
        }
    })
}

/// One expression's value for one row, in the stored form of its type.
fn value(frame: &Frame, row: &Row, scalar: &Scalar) -> Result<Value, KustoError> {
    Ok(match scalar {
        Scalar::Literal(v) => v.clone(),
        Scalar::Column(name, steps) => {
            let i = frame
                .columns
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| {
                    KustoError::query_semantic(
                        "SEM0100",
                        format!("Failed to resolve scalar expression named '{name}'"),
                    )
                })?;
            let mut v = row.cells.get(i).cloned().unwrap_or(Value::Null);
            for step in steps {
                v = member(&v, step);
            }
            v
        }
        Scalar::Cast(ty, inner) => cast(*ty, &value(frame, row, inner)?),
        Scalar::Now => convert(ColumnType::DateTime, Raw::Text(&clock::now())),
        Scalar::IngestionTime => row
            .ingested
            .map_or(Value::Null, |t| Value::String(format_datetime(t))),
    })
}

/// `v.step` / `v['step']`: an object's property or an array's element; null otherwise.
fn member(v: &Value, step: &str) -> Value {
    match v {
        Value::Object(o) => o.get(step).cloned().unwrap_or(Value::Null),
        Value::Array(a) => step
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i).cloned())
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// A cast as Kusto's `to*()` functions do it: null when the value does not convert (and `""`
/// for `tostring(null)`); `todynamic` parses JSON text; integer casts truncate reals.
pub(in super::super::super) fn cast(ty: ColumnType, v: &Value) -> Value {
    match (ty, v) {
        (ColumnType::Dynamic, Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        (ColumnType::Long | ColumnType::Int, Value::Number(n)) if n.as_i64().is_none() => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map_or(Value::Null, |f| {
                convert(ty, Raw::Json(&Value::from(f.trunc() as i64)))
            }),
        _ => convert(ty, Raw::Json(v)),
    }
}

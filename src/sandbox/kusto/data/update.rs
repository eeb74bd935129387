//! Update policies at ingestion time, as the update policy docs describe them: when rows land
//! in a table S, every enabled policy whose `Source` is S runs its `Query` over only the new
//! rows (the query's reference to S means the new extent), and the result is appended to the
//! policy's table, converted to its column types; the new rows may feed further policies.
//!
//! - A transactional policy (`IsTransactional: true`) that fails fails the whole ingestion:
//!   nothing is kept, the source rows included. A non-transactional one that fails leaves the
//!   source rows (and every other policy's) in place; the failure is returned for
//!   `.show ingestion failures`.
//! - `PropagateIngestionProperties: true` gives the new extent the source extent's tags (the
//!   `drop-by:` tags canaries clean up with); otherwise it has none.
//! - A query that returns no rows adds no extent. Policies with a wildcard `Source` are not run
//!   by the sandbox (it cannot tell which database they mean).
//! - Chains deeper than [`MAX_DEPTH`] fail like a failed query: plans reject cycles, and this
//!   guards the sandbox against one that slipped into its state.

use super::super::clock;
use super::super::error::KustoError;
use super::super::query::{cast, run_plan, schema::query_plan};
use super::super::state::{Database, Extent, Table};
use crate::model::UpdatePolicy;

/// How many update policies one ingestion may chain through.
pub(in super::super) const MAX_DEPTH: usize = 10;

/// A non-transactional update policy that failed: the ingestion went on without its rows.
#[derive(Debug, Clone, PartialEq)]
pub(in super::super) struct PolicyFailure {
    /// The policy's table (the one that got no rows).
    pub table: String,
    /// Why.
    pub error: KustoError,
}

/// What one ingestion added, once update policies ran.
#[derive(Debug, Default)]
pub(in super::super) struct Ingested {
    /// Every new extent, as (table, extent id), the ingested table's first.
    pub added: Vec<(String, String)>,
    /// The non-transactional policies that failed.
    pub failures: Vec<PolicyFailure>,
}

/// The extents an ingestion adds, computed before anything changes.
#[derive(Default)]
struct Cascade {
    extents: Vec<(String, Extent)>,
    failures: Vec<PolicyFailure>,
}

/// Appends `extent` to `table` and runs the update policies it feeds. On an error (a
/// transactional policy failed) nothing has changed.
pub(in super::super) fn append(
    db: &mut Database,
    table: &str,
    extent: Extent,
) -> Result<Ingested, KustoError> {
    let mut cascade = Cascade::default();
    feed(db, table, &extent, 0, &mut cascade)?;
    let mut ingested = Ingested {
        added: Vec::new(),
        failures: cascade.failures,
    };
    for (name, e) in std::iter::once((table.to_string(), extent)).chain(cascade.extents) {
        let t = db
            .tables
            .get_mut(&name)
            .ok_or_else(|| KustoError::entity_not_found("Table", &name))?;
        ingested.added.push((name, e.id.clone()));
        t.extents.push(e);
    }
    Ok(ingested)
}

/// Removes what [`append`] added (the sandbox could not persist it).
pub(in super::super) fn undo(db: &mut Database, ingested: &Ingested) {
    for (name, id) in &ingested.added {
        if let Some(t) = db.tables.get_mut(name) {
            t.extents.retain(|e| e.id != *id);
        }
    }
}

/// Runs the policies fed by `extent`, new in `source`, into `out`.
fn feed(
    db: &Database,
    source: &str,
    extent: &Extent,
    depth: usize,
    out: &mut Cascade,
) -> Result<(), KustoError> {
    let Some(source_table) = db.tables.get(source) else {
        return Err(KustoError::entity_not_found("Table", source));
    };
    for (name, target) in db.tables.iter() {
        let entries = target.update_policies.iter().flatten();
        for entry in entries.filter(|e| e.enabled && !e.source_is_wildcard && e.source == source) {
            let mut sub = Cascade::default();
            let ran = if depth >= MAX_DEPTH {
                Err(KustoError::ingestion(
                    "UpdatePolicy_RecursionDepthExceeded",
                    format!(
                        "Update policies chain more than {MAX_DEPTH} tables deep (at table '{name}')."
                    ),
                ))
            } else {
                run_entry(db, source_table, extent, target, entry).and_then(|new| {
                    if let Some(new) = &new {
                        feed(db, name, new, depth + 1, &mut sub)?;
                    }
                    Ok(new)
                })
            };
            match ran {
                Ok(new) => {
                    out.extents.extend(new.map(|e| (name.clone(), e)));
                    out.extents.append(&mut sub.extents);
                    out.failures.append(&mut sub.failures);
                }
                Err(e) if entry.transactional => return Err(policy_error(source, name, &e)),
                Err(e) => out.failures.push(PolicyFailure {
                    table: name.clone(),
                    error: policy_error(source, name, &e),
                }),
            }
        }
    }
    Ok(())
}

/// The failure of the policy of `target` on new rows of `source`, as ingestion reports it.
fn policy_error(source: &str, target: &str, e: &KustoError) -> KustoError {
    if e.code.starts_with("UpdatePolicy_") {
        return e.clone();
    }
    KustoError::ingestion(
        "UpdatePolicy_QueryFailed",
        format!(
            "The update policy of table '{target}' (source '{source}') failed: {}",
            e.detail
        ),
    )
}

/// One policy's new extent for `target`, or none when its query returns no rows.
fn run_entry(
    db: &Database,
    source: &Table,
    extent: &Extent,
    target: &Table,
    entry: &UpdatePolicy,
) -> Result<Option<Extent>, KustoError> {
    let (_, plan) = query_plan(db, &entry.query).map_err(|e| e.into_kusto())?;
    let result = run_plan(&plan, source, extent, |name| {
        db.tables.get(name).map(|t| Table::clone(t))
    })?;
    if result.columns.len() != target.columns.len() {
        let names = |cols: Vec<&str>| cols.join(", ");
        return Err(KustoError::ingestion(
            "UpdatePolicy_IncompatibleSchema",
            format!(
                "Query schema does not match table schema. QuerySchema=({}), TableSchema=({})",
                names(result.columns.iter().map(|c| c.0.as_str()).collect()),
                names(target.columns.iter().map(|c| c.name.as_str()).collect())
            ),
        ));
    }
    if result.rows.is_empty() {
        return Ok(None);
    }
    let rows = result
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&target.columns)
                .map(|(cell, c)| cast(c.ty, cell))
                .collect()
        })
        .collect();
    Ok(Some(Extent {
        id: clock::new_guid(),
        created_on: extent.created_on.clone(),
        tags: if entry.propagate_ingestion_properties {
            extent.tags.clone()
        } else {
            Vec::new()
        },
        original_size: extent.original_size,
        columns: target.columns.iter().map(|c| c.name.clone()).collect(),
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::sandbox::kusto::{Caller, KustoSandbox, StreamIngest};

    fn me() -> Caller {
        Caller::cluster_admin("aaduser=me")
    }

    fn run(s: &KustoSandbox, csl: &str) -> Result<Vec<Vec<Value>>, String> {
        s.execute("db", csl, &me())
            .map(|r| {
                r.primary()
                    .map(|t| t.value_rows().map(<[Value]>::to_vec).collect())
                    .unwrap_or_default()
            })
            .map_err(|e| e.to_string())
    }

    fn ok(s: &KustoSandbox, csl: &str) -> Vec<Vec<Value>> {
        run(s, csl).unwrap_or_else(|e| panic!("{csl}: {e}"))
    }

    fn rows(s: &KustoSandbox, query: &str) -> Vec<Vec<Value>> {
        s.query("db", query, &me())
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .rows
    }

    fn policy(
        table: &str,
        source: &str,
        query: &str,
        transactional: bool,
        propagate: bool,
    ) -> String {
        format!(
            r#".alter table {table} policy update @'[{{"IsEnabled":true,"Source":"{source}","Query":"{query}","IsTransactional":{transactional},"PropagateIngestionProperties":{propagate}}}]'"#
        )
    }

    /// Raw (dynamic payload) feeding Parsed through a stored function.
    fn sandbox() -> KustoSandbox {
        let s = KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox");
        for csl in [
            ".create table Raw (Payload:dynamic, At:datetime)",
            ".create table Parsed (Id:long, Name:string, Score:real, At:datetime)",
            ".create-or-alter function ParseRaw() { Raw | where At > datetime(2020-01-01) | extend Id = tolong(Payload.id), Name = tostring(Payload['name']), Score = todouble(Payload.score) | project Id, Name, Score, At }",
        ] {
            ok(&s, csl);
        }
        ok(&s, &policy("Parsed", "Raw", "ParseRaw()", true, true));
        s
    }

    const TWO_ROWS: &str = ".ingest inline into table Raw with (format='multijson', tags='[\"drop-by:canary\"]') <|\n{\"Payload\":{\"id\":\"7\",\"name\":\"a\",\"score\":1.5},\"At\":\"2026-01-02T03:04:05Z\"}\n{\"Payload\":{\"id\":8,\"name\":\"old\"},\"At\":\"2019-01-01\"}";

    #[test]
    fn the_query_runs_over_only_the_new_rows_with_casts_and_propagated_tags() {
        let s = sandbox();
        ok(&s, TWO_ROWS);
        assert_eq!(
            rows(&s, "Parsed"),
            vec![vec![
                json!(7),
                json!("a"),
                json!(1.5),
                json!("2026-01-02T03:04:05Z")
            ]],
            "the old row is filtered out, the id string is cast to long"
        );
        ok(&s, TWO_ROWS);
        assert_eq!(
            rows(&s, "Parsed | count"),
            vec![vec![json!(2)]],
            "the second ingestion's query saw only its own rows"
        );
        let tagged = ok(
            &s,
            ".show table Parsed extents where tags has 'drop-by:canary'",
        );
        assert_eq!(
            tagged.len(),
            2,
            "PropagateIngestionProperties copies the tags"
        );
        ok(
            &s,
            ".drop extents <| .show table Parsed extents where tags has 'drop-by:canary'",
        );
        assert_eq!(rows(&s, "Parsed | count"), vec![vec![json!(0)]]);
    }

    fn stream(s: &KustoSandbox, csv: &str) -> Result<(), String> {
        s.stream_ingest(StreamIngest {
            database: "db",
            table: "Raw",
            format: Some("csv"),
            mapping: None,
            data: csv.as_bytes(),
            caller: &me(),
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn streamed_rows_run_the_policies_and_a_transactional_failure_refuses_the_stream() {
        let s = sandbox();
        ok(&s, ".alter table Raw policy streamingingestion enable");
        let row = "\"{\"\"id\"\":3,\"\"name\"\":\"\"s\"\"}\",2026-01-01T00:00:00Z";
        stream(&s, row).expect("stream");
        assert_eq!(
            rows(&s, "Parsed"),
            vec![vec![
                json!(3),
                json!("s"),
                Value::Null,
                json!("2026-01-01T00:00:00Z")
            ]]
        );
        ok(&s, ".create table Bad (At:datetime, count_:long)");
        ok(
            &s,
            &policy("Bad", "Raw", "Raw | summarize count() by At", true, false),
        );
        let e = stream(&s, row).expect_err("the policy fails");
        assert!(e.contains("UpdatePolicy_QueryFailed"), "{e}");
        assert_eq!(rows(&s, "Raw | count"), vec![vec![json!(1)]]);
        assert_eq!(rows(&s, "Parsed | count"), vec![vec![json!(1)]]);
    }

    #[test]
    fn a_failed_transactional_policy_keeps_nothing() {
        let s = sandbox();
        ok(&s, ".create table Bad (At:datetime, count_:long)");
        ok(
            &s,
            &policy("Bad", "Raw", "Raw | summarize count() by At", true, false),
        );
        let e = run(&s, TWO_ROWS).expect_err("the ingestion fails");
        assert!(
            e.contains("UpdatePolicy_QueryFailed") && e.contains("'Bad'"),
            "{e}"
        );
        assert_eq!(rows(&s, "Raw | count"), vec![vec![json!(0)]]);
        assert_eq!(rows(&s, "Parsed | count"), vec![vec![json!(0)]]);
        let failures = ok(&s, ".show ingestion failures");
        assert_eq!(failures.len(), 1, "{failures:?}");
    }

    #[test]
    fn a_failed_non_transactional_policy_keeps_the_rest_and_is_listed() {
        let s = sandbox();
        ok(&s, ".create table Bad (At:datetime, count_:long)");
        ok(
            &s,
            &policy("Bad", "Raw", "Raw | summarize count() by At", false, false),
        );
        ok(&s, TWO_ROWS);
        assert_eq!(rows(&s, "Raw | count"), vec![vec![json!(2)]]);
        assert_eq!(rows(&s, "Parsed | count"), vec![vec![json!(1)]]);
        assert_eq!(rows(&s, "Bad | count"), vec![vec![json!(0)]]);
        let failures = s
            .execute("db", ".show ingestion failures", &me())
            .expect("failures");
        let t = failures.primary().expect("table");
        assert_eq!(t.column_values("Table").expect("Table"), [&json!("Bad")]);
        assert_eq!(
            t.column_values("ErrorCode").expect("ErrorCode"),
            [&json!("UpdatePolicy_QueryFailed")]
        );
    }

    #[test]
    fn chains_cascade_and_cycles_stop_at_the_depth_limit() {
        let s = sandbox();
        ok(&s, ".create table Named (Name:string, Id:long)");
        ok(
            &s,
            &policy(
                "Named",
                "Parsed",
                "Parsed | project-away Score, At | project-rename Key = Id | project Name, Id = Key",
                false,
                true,
            ),
        );
        ok(&s, TWO_ROWS);
        assert_eq!(rows(&s, "Named"), vec![vec![json!("a"), json!(7)]]);
        let tagged = ok(
            &s,
            ".show table Named extents where tags has 'drop-by:canary'",
        );
        assert_eq!(tagged.len(), 1);

        ok(&s, ".create table Loop (Name:string, Id:int)");
        ok(&s, &policy("Loop", "Loop", "Loop", true, false));
        let e = run(&s, ".ingest inline into table Loop <| x,1").expect_err("a cycle");
        assert!(e.contains("UpdatePolicy_RecursionDepthExceeded"), "{e}");
        assert_eq!(rows(&s, "Loop | count"), vec![vec![json!(0)]]);
    }
}

//! `.show database DB schema as csl script`: the commands that recreate a database, one per
//! row, rendered by [`crate::kusto::render`] so every row is valid KQL (and parses with our
//! own grammar, which is how observe reads policies and table principals from it).

use serde_json::Value;

use super::super::error::KustoError;
use super::super::state::{Assignment, BatchingPolicy, Database, SandboxState, StreamingPolicy};
use super::super::validate;
use super::{database, results};
use crate::kusto::command::{PolicyKind, SchemaScriptOptions};
use crate::kusto::render::{self, PolicyScope, RoleScope};
use crate::kusto::v1::V1Table;
use crate::model::{CachingPolicy, RetentionPolicy};

/// The script rows in the service's order: tables, table mappings, functions, table policies,
/// database policies, database principals, table principals.
pub(super) fn show(
    state: &SandboxState,
    name: &str,
    options: SchemaScriptOptions,
) -> Result<V1Table, KustoError> {
    Ok(results::schema_script(rows(
        name,
        database(state, name)?,
        options,
    )?))
}

fn rows(
    name: &str,
    db: &Database,
    options: SchemaScriptOptions,
) -> Result<Vec<String>, KustoError> {
    let mut out = Vec::new();
    for t in db.tables.values() {
        let columns: Vec<(&str, _)> = t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
        out.push(render::create_merge_table_with(
            &t.name,
            &columns,
            &t.folder,
            &t.docstring,
        ));
    }
    if options.include_ingestion_mappings {
        for t in db.tables.values() {
            for m in &t.mappings {
                // Stored mappings were validated JSON on the way in: one that is not is a
                // broken state, never printed as a `null` mapping.
                let json: Value = serde_json::from_str(&m.mapping).map_err(|e| {
                    KustoError::internal(format!(
                        "the stored mapping '{}' of table '{}' is not JSON: {e}",
                        m.name, t.name
                    ))
                })?;
                out.push(
                    render::create_or_alter_mapping(&t.name, m.kind, &m.name, &json).to_string(),
                );
            }
        }
    }
    for f in db.functions.values() {
        let body = f
            .body
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .unwrap_or(&f.body);
        out.push(
            render::create_or_alter_function(
                &f.name,
                &f.parameters,
                body,
                &f.folder,
                &f.docstring,
                true,
            )
            .to_string(),
        );
    }
    for t in db.tables.values() {
        policies(
            &mut out,
            PolicyScope::Table(&t.name),
            Stored {
                batching: t.batching,
                streaming: t.streaming,
                retention: t.retention,
                caching: t.caching.as_ref(),
            },
        );
        if let Some(entries) = &t.update_policies {
            out.push(render::alter_update_policy(&t.name, entries).to_string());
        }
    }
    policies(
        &mut out,
        PolicyScope::Database(name),
        Stored {
            batching: db.batching,
            streaming: db.streaming,
            retention: db.retention,
            caching: db.caching.as_ref(),
        },
    );
    if options.include_security_settings {
        principals(&mut out, &db.principals, |role| {
            RoleScope::Database(name, role)
        });
        for t in db.tables.values() {
            principals(&mut out, &t.principals, |role| {
                RoleScope::Table(&t.name, role)
            });
        }
    }
    Ok(out)
}

/// The policies of one table or database.
struct Stored<'a> {
    batching: Option<BatchingPolicy>,
    streaming: Option<StreamingPolicy>,
    retention: Option<RetentionPolicy>,
    caching: Option<&'a CachingPolicy>,
}

/// One row per set policy, in the forms the service writes: batching and streaming as JSON,
/// retention as `.alter-merge ... softdelete = ...`, caching as `hot = ...`.
fn policies(out: &mut Vec<String>, scope: PolicyScope<'_>, stored: Stored<'_>) {
    let set = [
        (
            PolicyKind::IngestionBatching,
            stored.batching.map(|p| validate::batching_json(&p)),
        ),
        (
            PolicyKind::StreamingIngestion,
            stored.streaming.map(|p| validate::streaming_json(&p)),
        ),
    ];
    for (kind, text) in set {
        if let Some(json) = text {
            out.push(render::alter_policy_text(scope, kind, json).to_string());
        }
    }
    if let Some(p) = &stored.retention {
        out.push(render::alter_merge_retention_properties(scope, p));
    }
    if let Some(p) = stored.caching {
        out.push(render::alter_caching_policy(scope, p).to_string());
    }
}

/// One row per assignment, with its notes when it has any.
fn principals<'a, R: Copy + 'a>(
    out: &mut Vec<String>,
    assignments: &[Assignment<R>],
    scope: impl Fn(R) -> RoleScope<'a>,
) {
    for a in assignments {
        let notes = Some(a.notes.as_str()).filter(|n| !n.is_empty());
        out.push(
            render::add_principal_fqns(scope(a.role), std::slice::from_ref(&a.fqn), notes)
                .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kusto::{Caller, KustoSandbox};

    #[test]
    fn a_stored_mapping_that_is_not_json_is_an_error_not_a_null_mapping() {
        let sandbox = KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox");
        let admin = Caller::cluster_admin("aaduser=root@x");
        for csl in [
            ".create table T (A: long)",
            r#".create table T ingestion json mapping 'm' '[{"column":"A","Properties":{"Path":"$.a"}}]'"#,
        ] {
            sandbox.execute("db", csl, &admin).expect(csl);
        }
        let mut state = sandbox.state();
        let options = SchemaScriptOptions::default();
        let rows = show(&state, "db", options)
            .expect("a valid state")
            .rows
            .len();
        assert!(rows >= 2, "the table and its mapping: {rows} rows");

        let db = state.databases.get_mut("db").expect("db");
        let table = db.tables.get_mut("T").expect("T");
        table.mappings[0].mapping = "[{".to_string();
        let err = show(&state, "db", options).expect_err("a mapping that is not JSON");
        assert!(
            err.to_string()
                .contains("the stored mapping 'm' of table 'T' is not JSON"),
            "{err}"
        );
    }
}

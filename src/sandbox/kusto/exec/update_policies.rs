//! What `.alter table T policy update` checks before it stores an entry, as the service
//! documents: the source table exists in the same database (unless `Source` is a wildcard
//! pattern), and the query's output schema matches the target table in column names, types
//! and order. The query is typed by [`query::schema`](super::super::query::schema); a query
//! the sandbox cannot type is stored unchecked (the service would check it), one that is
//! wrong (an unknown table, column or function) is refused as the service refuses it.

use super::super::error::KustoError;
use super::super::query::schema::query_schema;
use super::super::state::{Database, Table};
use crate::model::UpdatePolicy;

/// Refuses an entry the service would refuse.
pub(super) fn check(db: &Database, target: &Table, entry: &UpdatePolicy) -> Result<(), KustoError> {
    if !entry.source_is_wildcard && !db.tables.contains_key(&entry.source) {
        return Err(KustoError::entity_not_found("Table", &entry.source));
    }
    let invalid = |why: String| {
        KustoError::bad_request(format!(
            "Error during execution of a policy operation: Caught exception while validating query for Update Policy: 'IsEnabled = '{}', Source = '{}', Query = '{}', IsTransactional = '{}', PropagateIngestionProperties = '{}''. {why}",
            entry.enabled,
            entry.source,
            entry.query,
            entry.transactional,
            entry.propagate_ingestion_properties
        ))
    };
    let schema = match query_schema(db, &entry.query) {
        Ok(schema) => schema,
        Err(e) if e.is_unsupported() => return Ok(()),
        Err(e) => return Err(invalid(e.into_kusto().to_string())),
    };
    let text = |cols: Vec<String>| cols.join(", ");
    let query_cols: Vec<String> = schema
        .iter()
        .map(|(n, ty)| format!("{n}:{}", ty.as_kql()))
        .collect();
    let table_cols: Vec<String> = target
        .columns
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty.as_kql()))
        .collect();
    if query_cols != table_cols {
        return Err(invalid(format!(
            "Query schema does not match table schema. QuerySchema=({}), TableSchema=({})",
            text(query_cols),
            text(table_cols)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sandbox::kusto::{Caller, KustoSandbox};

    fn sandbox() -> KustoSandbox {
        let s = KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox");
        for csl in [
            ".create table Raw (Payload:dynamic, At:datetime)",
            ".create table Parsed (Id:long, Name:string)",
            ".create-or-alter function ParseRaw() { Raw | project Id = tolong(Payload.id), Name = tostring(Payload['name']) }",
            ".create-or-alter function Scaled(k:int) { Raw | take 1 }",
        ] {
            run(&s, csl).unwrap_or_else(|e| panic!("{csl}: {e}"));
        }
        s
    }

    fn run(s: &KustoSandbox, csl: &str) -> Result<String, String> {
        s.execute("db", csl, &Caller::cluster_admin("aaduser=me"))
            .map(|r| {
                serde_json::to_string(&r.primary().map(|t| t.rows.clone())).unwrap_or_default()
            })
            .map_err(|e| e.to_string())
    }

    fn schema(s: &KustoSandbox, query: &str) -> Result<Vec<(String, String)>, String> {
        s.query(
            "db",
            &format!("{query}\n| getschema"),
            &Caller::cluster_admin("aaduser=me"),
        )
        .map(|r| {
            r.rows
                .iter()
                .map(|row| (row[0].to_string(), row[3].to_string()))
                .collect()
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn getschema_types_tables_functions_lets_and_simple_operators() {
        let s = sandbox();
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(n, t)| (format!("\"{n}\""), format!("\"{t}\"")))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            schema(&s, "ParseRaw()"),
            Ok(pairs(&[("Id", "long"), ("Name", "string")]))
        );
        assert_eq!(
            schema(
                &s,
                "Raw | where At > datetime(2026-01-01) | extend N = toint(Payload.n), Payload.x | project-away At | take 5"
            ),
            Ok(pairs(&[
                ("Payload", "dynamic"),
                ("N", "int"),
                ("Payload_x", "dynamic")
            ]))
        );
        assert_eq!(
            schema(
                &s,
                "let ParseRaw = () { Raw | project-rename P = Payload };\nParseRaw"
            ),
            Ok(pairs(&[("P", "dynamic"), ("At", "datetime")]))
        );
        let unknown = schema(&s, "Raw | project Nope").expect_err("unknown column");
        assert!(
            unknown.contains("SEM0100") && unknown.contains("'Nope'"),
            "{unknown}"
        );
        let unsupported = schema(&s, "Raw | summarize count() by At").expect_err("unsupported");
        assert!(
            unsupported.contains(
                "the 'summarize' operator is not supported by the kustoplan sandbox's getschema"
            ),
            "{unsupported}"
        );
        let params = schema(&s, "Scaled(2)").expect_err("arguments");
        assert!(params.contains("not supported"), "{params}");
    }

    #[test]
    fn alter_checks_the_source_and_the_query_schema_and_the_script_keeps_the_policy() {
        let s = sandbox();
        let policy = |source: &str, query: &str| {
            format!(
                r#".alter table Parsed policy update @'[{{"IsEnabled":true,"Source":"{source}","Query":"{query}","IsTransactional":true}}]'"#
            )
        };
        let missing = run(&s, &policy("Nope", "ParseRaw()")).expect_err("no source");
        assert!(
            missing.contains("Entity ID 'Nope' of kind 'Table' was not found."),
            "{missing}"
        );
        let mismatch = run(&s, &policy("Raw", "Raw")).expect_err("mismatch");
        assert!(
            mismatch.contains("Query schema does not match table schema. QuerySchema=(Payload:dynamic, At:datetime), TableSchema=(Id:long, Name:string)"),
            "{mismatch}"
        );
        run(&s, &policy("Raw", "ParseRaw()")).expect("valid policy");
        let shown = run(&s, ".show table Parsed policy update").expect("show");
        assert!(shown.contains(r#"\"Source\":\"Raw\""#), "{shown}");
        let all = run(&s, ".show table * policy update").expect("show all");
        assert!(all.contains("[db].[Raw]") && all.contains("null"), "{all}");
        let script = run(&s, ".show database db schema as csl script").expect("script");
        assert!(
            script.contains(".alter table Parsed policy update"),
            "{script}"
        );
        run(
            &s,
            r#".alter-merge table Parsed policy update @'[{"IsEnabled":false,"Source":"Raw","Query":"ParseRaw()"}]'"#,
        )
        .expect("merge");
        let merged = run(&s, ".show table Parsed policy update").expect("show");
        assert_eq!(merged.matches("\\\"Source\\\"").count(), 2, "{merged}");
        let db_level = run(&s, r#".alter database db policy update @'[]'"#).expect_err("database");
        assert!(db_level.contains("only be set on tables"), "{db_level}");
        run(&s, ".delete table Parsed policy update").expect("delete");
        let gone = run(&s, ".show table Parsed policy update").expect("show");
        assert!(gone.contains("null"), "{gone}");
    }
}

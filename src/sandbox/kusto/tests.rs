//! In-process engine tests: semantics that need no HTTP.

use serde_json::{Value, json};

use super::*;
use crate::kusto::v1::V1Response;
use crate::model::ColumnType;

fn sandbox() -> KustoSandbox {
    KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox")
}

fn root() -> Caller {
    Caller::cluster_admin("aaduser=root@x")
}

fn run(s: &KustoSandbox, csl: &str) -> V1Response {
    s.execute("db", csl, &root())
        .unwrap_or_else(|e| panic!("{csl}: {e}"))
}

fn fail(s: &KustoSandbox, csl: &str) -> KustoError {
    match s.execute("db", csl, &root()) {
        Ok(r) => panic!("{csl} should fail, got {r:?}"),
        Err(e) => e,
    }
}

fn rows(r: &V1Response) -> Vec<&[Value]> {
    r.primary().expect("table").value_rows().collect()
}

#[test]
fn aliases_are_stored_as_canonical_types() {
    let s = sandbox();
    run(
        &s,
        ".create table T (a:int32, b:int64, c:double, d:boolean, e:date, f:uuid, g:time)",
    );
    let types: Vec<ColumnType> = s.state().databases["db"].tables["T"]
        .columns
        .iter()
        .map(|c| c.ty)
        .collect();
    use ColumnType::*;
    assert_eq!(types, [Int, Long, Real, Bool, DateTime, Guid, Timespan]);
}

#[test]
fn names_and_duplicate_columns_are_validated() {
    let s = sandbox();
    assert_eq!(
        fail(&s, ".create table ['a/b'] (x:int)").detail,
        "The name 'a/b' is not a valid table name: character '/' is not allowed."
    );
    assert_eq!(
        fail(&s, ".create table T (x:int, x:long)").detail,
        "Column 'x' is specified more than once."
    );
    assert_eq!(
        fail(&s, ".create table T (x:int) with (retention='1d')").detail,
        "Property 'retention' is not supported for tables (supported: docstring, folder)."
    );
    run(&s, ".create table ['My Table-1.x'] (['a b']:string)");
    assert!(
        s.state().databases["db"]
            .tables
            .contains_key("My Table-1.x")
    );
}

#[test]
fn alter_tables_policy_hits_every_listed_table() {
    let s = sandbox();
    run(&s, ".create table A (x:int)");
    run(&s, ".create table B (x:int)");
    let r = run(
        &s,
        ".alter tables (A, B) policy ingestionbatching '{\"MaximumNumberOfItems\":9}'",
    );
    let names: Vec<&Value> = rows(&r).iter().map(|r| &r[1]).collect();
    assert_eq!(names, [&json!("[db].[A]"), &json!("[db].[B]")]);
    let state = s.state();
    assert_eq!(
        state.databases["db"].tables["B"]
            .batching
            .map(|b| b.max_items),
        Some(9)
    );
}

#[test]
fn failed_command_changes_nothing_and_schema_version_counts_changes() {
    let s = sandbox();
    run(&s, ".create table A (x:int)");
    let version = s.state().databases["db"].minor_version;
    fail(
        &s,
        ".alter table A policy ingestionbatching '{\"MaximumNumberOfItems\":0}'",
    );
    run(&s, ".show table A policy ingestionbatching");
    run(&s, ".create table A (y:int)");
    assert_eq!(s.state().databases["db"].minor_version, version);
    run(&s, ".alter-merge table A (y:int)");
    assert_eq!(s.state().databases["db"].minor_version, version + 1);
}

#[test]
fn roles_come_from_assignments_for_non_admin_callers() {
    let s = sandbox();
    run(&s, ".create table T (x:int)");
    let viewer = Caller::principal("aaduser=v@x");
    let ingestor = Caller::principal("aadapp=ing;x");
    run(&s, ".add database db viewers ('aaduser=v@x')");
    run(&s, ".add table T ingestors ('aadapp=ing;x')");
    assert!(s.execute("db", ".show tables", &viewer).is_ok());
    assert_eq!(
        s.execute("db", ".drop table T", &viewer)
            .map(|_| ())
            .map_err(|e| e.status),
        Err(403)
    );
    // Table ingestors may manage that table's mappings, but not its schema.
    assert!(
        s.execute(
            "db",
            ".create table T ingestion csv mapping 'm' '[{\"column\":\"x\"}]'",
            &ingestor
        )
        .is_ok()
    );
    assert_eq!(
        s.execute("db", ".alter table T (x:int, y:int)", &ingestor)
            .map(|_| ())
            .map_err(|e| e.detail),
        Err("Principal 'aadapp=ing;x' is not authorized to write database 'db'.".to_string())
    );
    assert_eq!(
        s.execute("db", ".show tables", &ingestor)
            .map(|_| ())
            .map_err(|e| e.status),
        Err(403)
    );
}

#[test]
fn no_context_database_falls_back_like_the_service() {
    let s = sandbox();
    let err = s
        .execute("", ".create table T (x:int)", &root())
        .expect_err("no database");
    assert_eq!(err.status, 404);
    assert_eq!(
        err.detail,
        "Entity name 'NetDefaultDB' of kind 'Database' does not exist."
    );
    assert!(s.execute("", ".show version", &root()).is_ok());
}

#[test]
fn declared_databases_must_be_valid_names() {
    let err = KustoSandbox::in_memory(&["bad/name".to_string()]).expect_err("invalid");
    assert!(matches!(err, SandboxError::InvalidDatabase(_)), "{err}");
}

#[test]
fn open_remembers_databases_and_adds_declared_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = KustoSandbox::open(dir.path(), &["a".to_string()]).expect("open");
    let id = first.state().databases["a"].id.clone();
    drop(first);
    let second = KustoSandbox::open(dir.path(), &["b".to_string()]).expect("reopen");
    let state = second.state();
    assert_eq!(state.databases.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(state.databases["a"].id, id);
    assert_eq!(second.state_path(), Some(dir.path().join(STATE_FILE)));
}

#[test]
fn script_rejects_conflicting_options_and_nested_scripts() {
    let s = sandbox();
    assert_eq!(
        fail(
            &s,
            ".execute database script with (ContinueOnErrors=true, ThrowOnErrors=true) <| .create table A (x:int)"
        )
        .detail,
        "ContinueOnErrors and ThrowOnErrors cannot be used together."
    );
    let r = run(
        &s,
        ".execute database script with (ContinueOnErrors=true) <|\n.execute database script <| .create table A (x:int)\n.create table B (x:int)",
    );
    let outcome: Vec<(&Value, &Value)> = rows(&r).iter().map(|r| (&r[2], &r[3])).collect();
    assert_eq!(
        outcome,
        [
            (
                &json!(".execute database script <| .create table A (x:int)"),
                &json!("Failed")
            ),
            (&json!(".create table B (x:int)"), &json!("Completed")),
        ]
    );
}

/// The commands of [`rich_database`]: tables with quoted names, a mapping, policies at both
/// levels, database and table roles.
const RICH_DATABASE: [&str; 13] = [
    ".create table ['Game Play'] (Id:long, ['player name']:string)",
    ".create table Raw (Payload:dynamic)",
    ".alter table ['Game Play'] folder @'Game\\Raw'",
    ".alter table ['Game Play'] docstring 'Plays \"all\" [kustoplan:gameplay]'",
    r#".create table ['Game Play'] ingestion json mapping 'm1' '[{"column":"Id","Properties":{"Path":"$.id"}}]'"#,
    r#".alter table ['Game Play'] policy ingestionbatching '{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":5}'"#,
    r#".alter table Raw policy streamingingestion '{"IsEnabled":true,"HintAllocatedRate":2.5}'"#,
    r#".alter database db policy ingestionbatching '{"MaximumRawDataSizeMB":100}'"#,
    r#".alter database db policy streamingingestion '{"IsEnabled":false}'"#,
    ".add database db admins ('aadapp=APP;tenant') 'AAD \"App\"'",
    ".add database db viewers ('msauser=someone@live.com')",
    ".add table Raw ingestors ('aadapp=SINK;tenant', 'aaduser=jane@contoso.com') 'sink'",
    ".add table ['Game Play'] admins ('aadgroup=ops;contoso.com')",
];

/// A database with something of every kind the schema script covers.
fn rich_database(s: &KustoSandbox) {
    for csl in RICH_DATABASE {
        run(s, csl);
    }
}

/// The commands of [`rich_database`] inside a script (whose commands render no result table)
/// change the state exactly as the same commands sent alone (which answer with one).
#[test]
fn a_script_changes_what_its_commands_change_alone() {
    let alone = sandbox();
    rich_database(&alone);
    let scripted = sandbox();
    let commands = RICH_DATABASE;
    let answer = run(
        &scripted,
        &format!(".execute database script <|\n{}", commands.join("\n")),
    );
    let outcomes: Vec<&Value> = rows(&answer).iter().map(|row| &row[3]).collect();
    assert_eq!(outcomes, vec![&json!("Completed"); commands.len()]);
    // A single command still answers with its result table.
    let shown = run(
        &alone,
        r#".alter table Raw policy ingestionbatching '{"MaximumNumberOfItems":7}'"#,
    );
    assert_eq!(rows(&shown).len(), 1);
    run(
        &scripted,
        r#".alter table Raw policy ingestionbatching '{"MaximumNumberOfItems":7}'"#,
    );
    let comparable = |s: &KustoSandbox| {
        // Ids and times are drawn per sandbox.
        let mut db = s.state().databases["db"].clone();
        db.id = String::new();
        for assignment in &mut db.principals {
            assignment.id = String::new();
        }
        for table in db.tables.values_mut() {
            for mapping in &mut table.mappings {
                mapping.last_updated = String::new();
            }
            for assignment in &mut table.principals {
                assignment.id = String::new();
            }
        }
        db
    };
    assert_eq!(comparable(&scripted), comparable(&alone));
}

fn script_rows(s: &KustoSandbox, csl: &str) -> Vec<String> {
    let r = run(s, csl);
    let table = r.primary().expect("table");
    assert_eq!(
        table
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect::<Vec<_>>(),
        [("DatabaseSchemaScript", "String")]
    );
    table
        .value_rows()
        .map(|row| row[0].as_str().expect("text").to_string())
        .collect()
}

#[test]
fn schema_script_has_one_command_per_row_in_the_service_order() {
    let s = sandbox();
    rich_database(&s);
    let rows = script_rows(&s, ".show database db schema as csl script");
    // Principals are written as the directory resolved them (users and groups by object id).
    let as_listed = |row: &&str| {
        [
            "aadapp=APP;tenant",
            "aadgroup=ops;contoso.com",
            "aadapp=SINK;tenant",
            "aaduser=jane@contoso.com",
        ]
        .iter()
        .fold(row.to_string(), |r, fqn| {
            r.replace(fqn, &super::resolved_fqn(fqn).expect("valid"))
        })
    };
    assert_eq!(
        rows,
        [
            r#".create-merge table ['Game Play'] (Id:long, ['player name']:string) with (folder = "Game\\Raw", docstring = "Plays \"all\" [kustoplan:gameplay]")"#,
            ".create-merge table Raw (Payload:dynamic)",
            r#".create-or-alter table ['Game Play'] ingestion json mapping "m1" "[{\"Properties\":{\"Path\":\"$.id\"},\"column\":\"Id\",\"datatype\":\"\"}]""#,
            r#".alter table ['Game Play'] policy ingestionbatching "{\"MaximumBatchingTimeSpan\":\"00:00:10\",\"MaximumNumberOfItems\":5,\"MaximumRawDataSizeMB\":1024}""#,
            r#".alter table Raw policy streamingingestion "{\"IsEnabled\":true,\"HintAllocatedRate\":2.5}""#,
            r#".alter database db policy ingestionbatching "{\"MaximumBatchingTimeSpan\":\"00:05:00\",\"MaximumNumberOfItems\":500,\"MaximumRawDataSizeMB\":100}""#,
            r#".alter database db policy streamingingestion "{\"IsEnabled\":false,\"HintAllocatedRate\":null}""#,
            r#".add database db admins ("aadapp=APP;tenant") "AAD \"App\"""#,
            r#".add database db viewers ("msauser=someone@live.com")"#,
            r#".add table ['Game Play'] admins ("aadgroup=ops;contoso.com")"#,
            r#".add table Raw ingestors ("aadapp=SINK;tenant") "sink""#,
            r#".add table Raw ingestors ("aaduser=jane@contoso.com") "sink""#,
        ]
        .iter()
        .map(as_listed)
        .collect::<Vec<_>>()
    );
    let reads = ".show database db schema as csl script with (IncludeIngestionMappings = false, IncludeEncodingPolicies = false)";
    let without_mappings = script_rows(&s, reads);
    assert_eq!(
        without_mappings,
        rows.iter()
            .filter(|r| !r.contains(" ingestion json mapping "))
            .cloned()
            .collect::<Vec<_>>()
    );
    let without_security = script_rows(
        &s,
        ".show database db schema as csl script with (includesecuritysettings=False, ShowObfuscatedStrings=true)",
    );
    assert_eq!(without_security, rows[..7]);
}

/// Running the script on an empty database recreates the same database: every row is a
/// command the sandbox (and so our grammar) accepts, and nothing is lost on the way.
#[test]
fn schema_script_recreates_the_database() {
    let s = sandbox();
    rich_database(&s);
    let copy = sandbox();
    for row in script_rows(&s, ".show database db schema as csl script") {
        run(&copy, &row);
    }
    let strip = |s: &KustoSandbox| {
        let mut db = s.state().databases["db"].clone();
        db.id.clear();
        db.minor_version = 0;
        // The script names users and groups by object id, as the service writes it: the
        // copy's directory has not seen their names, so display names are not compared.
        fn anonymous<R>(a: &mut crate::sandbox::kusto::Assignment<R>) {
            a.id.clear();
            a.display.clear();
        }
        db.principals.iter_mut().for_each(anonymous);
        for t in db.tables.values_mut() {
            t.principals.iter_mut().for_each(anonymous);
            t.mappings.iter_mut().for_each(|m| m.last_updated.clear());
        }
        db
    };
    assert_eq!(strip(&copy), strip(&s));
}

#[test]
fn schema_script_options_are_checked() {
    let s = sandbox();
    let e = fail(
        &s,
        ".show database db schema as csl script with (IncludeFunctions = false)",
    );
    assert_eq!(
        (e.status, e.exception_type.as_str(), e.detail.as_str()),
        (
            400,
            "Kusto.Data.Exceptions.SyntaxException",
            "Syntax error: SYN0002: unknown schema script option 'IncludeFunctions' [line:position=1:39]"
        )
    );
    assert_eq!(
        fail(
            &s,
            ".show database db schema as csl script with (IncludeSecuritySettings = 1)"
        )
        .detail,
        "Syntax error: SYN0002: property 'IncludeSecuritySettings' expects true or false, got '1' [line:position=1:39]"
    );
    assert_eq!(
        fail(&s, ".show database nope schema as csl script").status,
        404
    );
    assert_eq!(
        fail(&s, ".show database db schema as csl").detail,
        "Syntax error: SYN0002: expected 'script' but found end of command [line:position=1:31]"
    );
}

#[test]
fn a_logged_auth_config_shows_principals_but_never_tokens() {
    let auth = AuthConfig {
        tokens: std::collections::BTreeMap::from([(
            "s3cret-token".to_string(),
            "aaduser=sandbox".to_string(),
        )]),
        cluster_admins: vec!["aaduser=sandbox".to_string()],
    };
    let config = ServeConfig {
        auth: Some(auth),
        ..ServeConfig::new("/tmp/x", std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret-token"), "{shown}");
    assert!(
        shown.contains(
            r#"auth: Some(AuthConfig { tokens: <1 redacted>, principals: ["aaduser=sandbox"], cluster_admins: ["aaduser=sandbox"] })"#
        ),
        "{shown}"
    );
}

fn count(s: &KustoSandbox, table: &str) -> Value {
    let r = s
        .query("db", &format!("{table} | count"), &root())
        .unwrap_or_else(|e| panic!("count: {e}"));
    r.rows[0][0].clone()
}

#[test]
fn ingest_inline_adds_one_extent_with_tags_and_drop_by_tag_removes_it() {
    let s = sandbox();
    run(&s, ".create table T (Sku:string, Qty:long)");
    let first = run(
        &s,
        ".ingest inline into table T <|\n    Shoes,1000\n    Wide Shoes,50\n    \"Coats with \"\"quotes\"\"\",5",
    );
    assert_eq!(rows(&first).len(), 1);
    let tagged = run(
        &s,
        ".ingest inline into table T with (tags='[\"drop-by:old\", \"ingest-by:b1\"]') <|\nHats,7",
    );
    let tagged_id = rows(&tagged)[0][0].clone();
    assert_eq!(count(&s, "T"), json!(4));
    let r = s
        .query("db", "T | where Qty < 100 and Sku != 'Hats'", &root())
        .expect("where");
    assert_eq!(
        r.rows,
        vec![
            vec![json!("Wide Shoes"), json!(50)],
            vec![json!("Coats with \"quotes\""), json!(5)]
        ]
    );
    // ingestIfNotExists finds the ingest-by tag: nothing is ingested, the zero id comes back.
    let skipped = run(
        &s,
        ".ingest inline into table T with (ingestIfNotExists='[\"b1\"]') <| Hats,7",
    );
    assert_eq!(
        rows(&skipped)[0][0],
        json!("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(count(&s, "T"), json!(4));
    let shown = run(&s, ".show table T extents where tags has 'drop-by:old'");
    let t = shown.primary().expect("table");
    assert_eq!(t.column_values("ExtentId").expect("ids"), [&tagged_id]);
    assert_eq!(t.column_values("RowCount").expect("rows"), [&json!(1)]);
    assert_eq!(
        t.column_values("Tags").expect("tags"),
        [&json!("drop-by:old\r\ningest-by:b1")]
    );
    let version = s.state().databases["db"].minor_version;
    let dropped = run(
        &s,
        ".drop extents <| .show table T extents where tags has 'drop-by:old'",
    );
    assert_eq!(
        dropped
            .primary()
            .expect("t")
            .column_values("ExtentId")
            .expect("ids"),
        [&tagged_id]
    );
    assert_eq!(count(&s, "T"), json!(3));
    assert_eq!(
        s.state().databases["db"].minor_version,
        version,
        "rows are not schema: no version bump"
    );
    run(&s, ".drop extents from T");
    assert_eq!(count(&s, "T"), json!(0));
}

#[test]
fn delete_records_removes_exactly_the_rows_the_predicate_selects() {
    let s = sandbox();
    run(&s, ".create table T (Sku:string, Qty:long)");
    run(
        &s,
        ".ingest inline into table T <|\nShoes,1\ncanary,2\nHats,3",
    );
    run(&s, ".ingest inline into table T <|\ncanary,4");
    let what_if = run(
        &s,
        ".delete table T records with (whatif=true) <| T | where Sku == 'canary'",
    );
    let t = what_if.primary().expect("table");
    assert_eq!(
        t.column_values("RecordsMatchPredicate").expect("counts"),
        [&json!(1), &json!(1)],
        "one matching row in each extent"
    );
    assert_eq!(count(&s, "T"), json!(4), "whatif deletes nothing");
    run(&s, ".delete table T records <| T | where Sku == 'canary'");
    assert_eq!(count(&s, "T"), json!(2));
    assert_eq!(count(&s, "T | where Sku == 'canary'"), json!(0));
    let extents = run(&s, ".show table T extents");
    assert_eq!(
        rows(&extents).len(),
        1,
        "the extent left empty is gone, the other keeps its other rows"
    );
    for bad in [
        ".delete table T records <| T | take 1",
        ".delete table T records <| T",
        ".delete table T records <| Other | where Sku == 'x'",
        ".delete table T records <| T | where Missing == 'x'",
    ] {
        fail(&s, bad);
        assert_eq!(count(&s, "T"), json!(2), "{bad} changes nothing");
    }
}

#[test]
fn bad_inline_data_and_options_change_nothing() {
    let s = sandbox();
    run(&s, ".create table T (A:long, B:string)");
    for (csl, code) in [
        (
            ".ingest inline into table T <| 1,a\n2",
            "Stream_WrongNumberOfFields",
        ),
        (
            ".ingest inline into table T <| 1,\"a",
            "Stream_ClosingQuoteMissing",
        ),
        (
            ".ingest inline into table T with (format='multijson') <| {\"A\":1} {",
            "BadRequest_InvalidBlob",
        ),
        (
            ".ingest inline into table T with (format='json', ingestionMappingReference='nope') <| {\"A\":1}",
            "BadRequest_InvalidMappingReference",
        ),
        (
            ".ingest inline into table T with (format='avro') <| x",
            "BadRequest_FormatNotSupported",
        ),
        (
            ".ingest inline into table T <|   ",
            "BadRequest_NoRecordsOrWrongFormat",
        ),
    ] {
        assert_eq!(fail(&s, csl).code, code, "{csl}");
    }
    assert_eq!(
        fail(&s, ".ingest inline into table Nope <| 1,a").code,
        "BadRequest_EntityNotFound"
    );
    assert!(s.state().databases["db"].tables["T"].extents.is_empty());
}

#[test]
fn schema_changes_keep_rows_consistent() {
    let s = sandbox();
    run(&s, ".create table T (A:long, B:string, C:real)");
    run(&s, ".ingest inline into table T <| 1,x,1.5");
    run(&s, ".alter-merge table T (D:bool)");
    let all = |s: &KustoSandbox| s.query("db", "T", &root()).expect("T").rows;
    assert_eq!(
        all(&s),
        vec![vec![json!(1), json!("x"), json!(1.5), Value::Null]]
    );
    run(&s, ".drop column T.B");
    run(&s, ".alter-merge table T (B:string)");
    assert_eq!(
        all(&s),
        vec![vec![json!(1), json!(1.5), Value::Null, json!("")]],
        "a dropped column's data does not come back with a new column of that name"
    );
    run(&s, ".alter column T.C type=string");
    assert_eq!(
        all(&s),
        vec![vec![json!(1), json!(""), Value::Null, json!("")]],
        "a retyped column's old data is null"
    );
    run(&s, ".alter table T (D:bool, A:long)");
    assert_eq!(all(&s), vec![vec![Value::Null, json!(1)]]);
    run(&s, ".drop table T");
    run(&s, ".create table T (D:bool, A:long)");
    assert_eq!(count(&s, "T"), json!(0), "dropping a table drops its rows");
}

#[test]
fn rename_column_keeps_type_position_and_data_and_leaves_mappings_alone() {
    let s = sandbox();
    run(&s, ".create table T (A:long, B:string, C:real)");
    run(
        &s,
        ".create table T ingestion csv mapping 'm' '[{\"column\":\"B\",\"Properties\":{\"Ordinal\":\"0\"}}]'",
    );
    run(&s, ".ingest inline into table T <| 1,x,1.5");
    let r = run(&s, ".rename column T.B to ['B 2']");
    assert_eq!(rows(&r).len(), 1, "the table's schema");
    let table = &s.state().databases["db"].tables["T"];
    let columns: Vec<(&str, ColumnType)> = table
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty))
        .collect();
    assert_eq!(
        columns,
        [
            ("A", ColumnType::Long),
            ("B 2", ColumnType::String),
            ("C", ColumnType::Real)
        ]
    );
    assert_eq!(
        s.query("db", "T | where ['B 2'] == 'x'", &root())
            .expect("query")
            .rows,
        vec![vec![json!(1), json!("x"), json!(1.5)]],
        "the data moves with the column"
    );
    assert!(
        table.mappings.iter().any(|m| m.mapping.contains("\"B\"")),
        "mappings are stored text: the service does not rewrite them"
    );

    let taken = fail(&s, ".rename column T.A to C");
    assert_eq!(
        (taken.code.as_str(), taken.detail.as_str()),
        (
            "BadRequest_EntityAlreadyExists",
            "Entity 'C' of kind 'Column' already exists."
        )
    );
    let missing = fail(&s, ".rename column db.T.Nope to D");
    assert_eq!(
        (missing.code.as_str(), missing.detail.as_str()),
        (
            "BadRequest_EntityNotFound",
            "Entity ID 'Nope' of kind 'Column' was not found."
        )
    );
    assert_eq!(
        fail(&s, ".rename column Nope.A to D").code,
        "BadRequest_EntityNotFound"
    );
    assert_eq!(
        fail(&s, ".rename column T.A to ['a/b']").detail,
        "The name 'a/b' is not a valid column name: character '/' is not allowed."
    );
}

#[test]
fn rows_never_show_in_what_observe_reads() {
    let s = sandbox();
    run(&s, ".create table T (A:long)");
    run(
        &s,
        ".create table T ingestion csv mapping 'm' '[{\"column\":\"A\",\"Properties\":{\"Ordinal\":\"0\"}}]'",
    );
    run(&s, ".alter table T policy streamingingestion enable");
    let reads = [
        ".show database db schema as json",
        ".show database db schema as csl script",
        ".show database db ingestion mappings",
        ".show database db principals",
        ".show table * policy ingestionbatching",
        ".show databases",
    ];
    let before: Vec<V1Response> = reads.iter().map(|r| run(&s, r)).collect();
    run(
        &s,
        ".ingest inline into table T with (ingestionMappingReference='m') <| 1\n2",
    );
    let after: Vec<V1Response> = reads.iter().map(|r| run(&s, r)).collect();
    assert_eq!(before, after);
}

#[test]
fn rows_persist_and_old_state_files_still_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dbs = ["db".to_string()];
    {
        let s = KustoSandbox::open(dir.path(), &dbs).expect("open");
        run(&s, ".create table T (A:long)");
        run(&s, ".ingest inline into table T <| 41\n42");
    }
    let s = KustoSandbox::open(dir.path(), &dbs).expect("reopen");
    assert_eq!(count(&s, "T"), json!(2));
    // A state file from before rows existed (and before the journal) has no `extents`: it
    // loads with empty tables.
    let path = s.state_path().expect("path");
    let mut doc = serde_json::to_value(s.state()).expect("json");
    doc["databases"]["db"]["tables"]["T"]
        .as_object_mut()
        .expect("table")
        .remove("extents");
    drop(s);
    std::fs::write(&path, doc.to_string()).expect("write");
    std::fs::remove_file(dir.path().join(JOURNAL_FILE)).expect("remove journal");
    let s = KustoSandbox::open(dir.path(), &dbs).expect("old format");
    assert_eq!(count(&s, "T"), json!(0));
}

/// Appending rows journals only the new extent, never the rows the table already holds, by
/// `.ingest inline` and by streaming alike; a reopened sandbox has every row.
#[test]
fn ingestion_journals_only_the_new_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join(JOURNAL_FILE);
    let len = || std::fs::metadata(&journal).expect("journal").len();
    let s = KustoSandbox::open(dir.path(), &["db".to_string()]).expect("open");
    run(&s, ".create table T (A:long, B:string)");
    run(&s, ".alter table T policy streamingingestion enable");
    let big: Vec<String> = (0..2000).map(|i| format!("{i},row number {i}")).collect();
    let before = len();
    run(
        &s,
        &format!(".ingest inline into table T <| {}", big.join("\n")),
    );
    let first = len() - before;
    let before = len();
    run(&s, ".ingest inline into table T <| 1,one");
    let inline = len() - before;
    let before = len();
    s.stream_ingest(StreamIngest {
        database: "db",
        table: "T",
        format: Some("csv"),
        mapping: None,
        data: b"2,two",
        caller: &root(),
    })
    .expect("stream");
    let streamed = len() - before;
    assert!(
        inline < first / 50 && streamed < first / 50,
        "one row wrote {inline} (inline) and {streamed} (streamed) bytes, 2000 rows {first}"
    );
    drop(s);
    let s = KustoSandbox::open(dir.path(), &["db".to_string()]).expect("reopen");
    assert_eq!(count(&s, "T"), json!(2002));
}

#[test]
fn streaming_needs_the_policy_and_a_json_mapping() {
    let s = sandbox();
    run(&s, ".create table T (A:long, B:string)");
    let stream = |format: &str, mapping: Option<&str>, data: &str| {
        s.stream_ingest(StreamIngest {
            database: "db",
            table: "T",
            format: Some(format),
            mapping,
            data: data.as_bytes(),
            caller: &root(),
        })
    };
    let refused = stream("csv", None, "1,a").expect_err("no policy");
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (400, "BadRequest_StreamingIngestionPolicyNotEnabled")
    );
    run(&s, ".alter database db policy streamingingestion enable");
    let ok = stream("csv", None, "1,a\n2,b").expect("database policy allows it");
    assert_eq!(ok.primary().expect("t").rows.len(), 1);
    run(&s, ".alter table T policy streamingingestion disable");
    assert!(
        stream("csv", None, "3,c").is_err(),
        "the table's policy wins"
    );
    run(&s, ".delete table T policy streamingingestion");
    assert_eq!(
        stream("json", None, "{\"A\":1}")
            .expect_err("mapping needed")
            .code,
        "BadRequest_EmptyMappingReference"
    );
    run(
        &s,
        ".create table T ingestion json mapping 'j' '[{\"column\":\"A\",\"Properties\":{\"Path\":\"$.a.b\"}},{\"column\":\"B\",\"Properties\":{\"Path\":\"$.s\"}}]'",
    );
    stream("json", Some("j"), "{\"a\":{\"b\":7},\"s\":\"q\"}").expect("json");
    let r = s.query("db", "T | where A == 7", &root()).expect("query");
    assert_eq!(r.rows, vec![vec![json!(7), json!("q")]]);
    assert_eq!(count(&s, "T"), json!(3));
    let viewer = Caller::principal("aaduser=viewer@x");
    assert_eq!(
        s.stream_ingest(StreamIngest {
            database: "db",
            table: "T",
            format: Some("csv"),
            mapping: None,
            data: b"1,a",
            caller: &viewer,
        })
        .expect_err("no role")
        .status,
        403
    );
}

#[test]
fn queries_name_missing_tables_like_the_service() {
    let s = sandbox();
    let e = s.query("db", "Nope | count", &root()).expect_err("missing");
    assert_eq!(
        e.detail,
        "Request is invalid and cannot be processed: Semantic error: SEM0100: 'table' operator: Failed to resolve table expression named 'Nope'"
    );
    assert_eq!(s.query("other", "T", &root()).expect_err("db").status, 404);
}

#[test]
fn rename_table_fails_onto_an_existing_table_and_from_a_missing_one() {
    let s = sandbox();
    run(&s, ".create table A (x:int) with (docstring = 'a')");
    run(&s, ".create table B (y:string)");
    let taken = fail(&s, ".rename table A to B");
    assert_eq!(
        (taken.status, taken.code.as_str(), taken.detail.as_str()),
        (
            400,
            "BadRequest_EntityAlreadyExists",
            "Entity 'B' of kind 'Table' already exists."
        )
    );
    let missing = fail(&s, ".rename table Nope to C");
    assert_eq!(
        (
            missing.status,
            missing.code.as_str(),
            missing.detail.as_str()
        ),
        (
            400,
            "BadRequest_EntityNotFound",
            "Entity ID 'Nope' of kind 'Table' was not found."
        )
    );
    let before = s.state();
    assert_eq!(before.databases["db"].tables.len(), 2, "nothing changed");

    let r = run(&s, ".rename table A to ['C-1']");
    assert_eq!(rows(&r), [[json!("C-1"), json!("db")]]);
    let db = &s.state().databases["db"];
    let renamed = &db.tables["C-1"];
    assert_eq!(renamed.name, "C-1");
    assert_eq!(
        renamed.docstring, "a",
        "the table itself moves, with its docstring"
    );
    assert!(!db.tables.contains_key("A"));
    assert_eq!(db.minor_version, before.databases["db"].minor_version + 1);
    assert_eq!(
        fail(&s, ".rename table B to ['a/b']").detail,
        "The name 'a/b' is not a valid table name: character '/' is not allowed."
    );
}

#[test]
fn rename_tables_is_one_transaction_that_may_swap_names() {
    let s = sandbox();
    for t in ["A", "B", "C", "A_TEMP"] {
        run(
            &s,
            &format!(".create table {t} (x:int) with (docstring = '{t}')"),
        );
    }
    // The documented example: swap A and A_TEMP, rename B, keep C.
    run(&s, ".rename tables A=A_TEMP, NEWB=B, A_TEMP=A");
    let docstrings = |s: &KustoSandbox| -> Vec<(String, String)> {
        s.state().databases["db"]
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), t.docstring.clone()))
            .collect()
    };
    let swapped = vec![
        ("A".to_string(), "A_TEMP".to_string()),
        ("A_TEMP".to_string(), "A".to_string()),
        ("C".to_string(), "C".to_string()),
        ("NEWB".to_string(), "B".to_string()),
    ];
    assert_eq!(docstrings(&s), swapped);

    // One failing pair fails the whole command: nothing is renamed.
    let e = fail(&s, ".rename tables D=A, C=NEWB");
    assert_eq!(e.detail, "Entity 'C' of kind 'Table' already exists.");
    let e = fail(&s, ".rename tables D=A, E=Missing");
    assert_eq!(
        e.detail,
        "Entity ID 'Missing' of kind 'Table' was not found."
    );
    let e = fail(&s, ".rename tables D=A, D=C");
    assert_eq!(e.detail, "More than one table is renamed to 'D'.");
    let e = fail(&s, ".rename tables D=A, E=A");
    assert_eq!(e.detail, "Table 'A' is renamed more than once.");
    assert_eq!(docstrings(&s), swapped);

    // `ifexists` skips a missing source instead of failing.
    run(&s, ".rename tables D=A, E=Missing ifexists");
    assert!(s.state().databases["db"].tables.contains_key("D"));
    assert!(!s.state().databases["db"].tables.contains_key("E"));
}

#[test]
fn a_failed_ingest_inline_fails_and_is_listed_as_an_ingestion_failure() {
    let s = sandbox();
    run(&s, ".create table T (Name:string, Count:int)");
    let e = fail(&s, ".ingest inline into table T <|\n\"unclosed,1");
    assert_eq!(e.code, "Stream_ClosingQuoteMissing");
    let failures = run(&s, ".show ingestion failures");
    let table = failures.primary().expect("table");
    let column = |name: &str| table.column_values(name).expect(name);
    assert_eq!(column("Table"), [&Value::from("T")]);
    assert_eq!(
        column("ErrorCode"),
        [&Value::from("Stream_ClosingQuoteMissing")]
    );
    assert_eq!(column("FailureKind"), [&Value::from("Permanent")]);
    assert_eq!(column("OperationKind"), [&Value::from("DataIngestPush")]);
    assert_eq!(column("ShouldRetry"), [&Value::from(false)]);
    assert_eq!(column("Details"), [&Value::from(e.detail.as_str())]);
    assert_eq!(
        run(&s, ".show table T extents")
            .primary()
            .expect("extents")
            .rows
            .len(),
        0,
        "nothing was ingested"
    );
}

/// Column names of a result, in order.
fn columns(r: &V1Response) -> Vec<String> {
    r.primary()
        .expect("table")
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn functions_show_as_the_docs_describe() {
    let s = sandbox();
    run(&s, ".create table T (a:int)");
    let created = run(
        &s,
        ".create-or-alter function with (docstring = 'Demo function with parameter', folder='MyFolder')\nTestFunction(myLimit:int)\n{ T | take myLimit}",
    );
    let shape = ["Name", "Parameters", "Body", "Folder", "DocString"];
    assert_eq!(columns(&created), shape);
    let expected = vec![
        json!("TestFunction"),
        json!("(myLimit:int)"),
        json!("{ T | take myLimit}"),
        json!("MyFolder"),
        json!("Demo function with parameter"),
    ];
    assert_eq!(rows(&created), [expected.as_slice()]);
    run(&s, ".create-or-alter function Other() { print 1 }");
    let all = run(&s, ".show functions");
    assert_eq!(columns(&all), shape);
    let names: Vec<&Value> = rows(&all).iter().map(|r| &r[0]).collect();
    assert_eq!(names, [&json!("Other"), &json!("TestFunction")]);
    let one = run(&s, ".show function TestFunction");
    assert_eq!(rows(&one), [expected.as_slice()]);
    assert_eq!(
        fail(&s, ".show function Missing").detail,
        "Entity ID 'Missing' of kind 'Function' was not found."
    );

    // `.create-or-alter` replaces the whole definition: an omitted property is reset.
    run(
        &s,
        ".create-or-alter function TestFunction(n:long) { T | take n }",
    );
    assert_eq!(
        rows(&run(&s, ".show function TestFunction"))[0],
        [
            json!("TestFunction"),
            json!("(n:long)"),
            json!("{ T | take n }"),
            json!(""),
            json!("")
        ]
    );

    // The schema lists functions with typed parameters and the body as stored.
    let schema = run(&s, ".show database db schema as json");
    let cell: Value =
        serde_json::from_str(rows(&schema)[0][0].as_str().expect("text")).expect("json");
    assert_eq!(
        cell["Databases"]["db"]["Functions"]["TestFunction"],
        json!({
            "Name": "TestFunction",
            "InputParameters": [
                {"Name": "n", "Type": "System.Int64", "CslType": "long", "CslDefaultValue": null}
            ],
            "Body": "{ T | take n }",
            "Folder": "",
            "DocString": "",
            "FunctionKind": "Unknown",
            "OutputColumns": [],
        })
    );

    let dropped = run(&s, ".drop function TestFunction");
    assert_eq!(columns(&dropped), ["Name"]);
    assert_eq!(rows(&dropped), [[json!("TestFunction")].as_slice()]);
    assert_eq!(
        fail(&s, ".drop function TestFunction").detail,
        "Entity ID 'TestFunction' of kind 'Function' was not found."
    );
    assert!(rows(&run(&s, ".drop function TestFunction ifexists")).is_empty());
    assert_eq!(
        fail(&s, ".create-or-alter function T() { print 1 }").detail,
        "Entity 'T' of kind 'Table' already exists."
    );
    assert_eq!(
        fail(&s, ".create-or-alter function with (view = true) V() { T }").detail,
        "Property 'view' is not supported for functions by the sandbox (supported: docstring, folder, skipvalidation)."
    );
}

#[test]
fn materialized_views_follow_the_documented_commands() {
    let s = sandbox();
    run(&s, ".create table T (Id:string, Ts:datetime, V:long)");
    // Sync create answers with the view's .show row; async with an operation id that
    // .show operations knows as completed.
    let created = run(
        &s,
        ".create materialized-view with (lookback=6h, folder=\"F\") V on table T\n{\nT | summarize arg_max(Ts, *) by Id\n}",
    );
    assert_eq!(rows(&created)[0][0], json!("V"));
    assert_eq!(rows(&created)[0][12], json!("06:00:00"));
    let started = run(
        &s,
        ".create async ifnotexists materialized-view with (backfill=true) W on table T { T | summarize count() by Id }",
    );
    let id = rows(&started)[0][0]
        .as_str()
        .expect("operation id")
        .to_string();
    let op = run(&s, &format!(".show operations {id}"));
    assert_eq!(rows(&op)[0][1], json!("MaterializedViewCreate"));
    assert_eq!(rows(&op)[0][6], json!("Completed"));
    assert!(
        rows(&run(
            &s,
            ".show operations 00000000-0000-0000-0000-000000000001"
        ))
        .is_empty()
    );
    // ifnotexists: no change, no error; without it the view exists already.
    run(
        &s,
        ".create ifnotexists materialized-view V on table T { T | summarize count() by Other }",
    );
    assert_eq!(
        s.state().databases["db"].materialized_views["V"].query,
        "T | summarize arg_max(Ts, *) by Id"
    );
    fail(
        &s,
        ".create materialized-view V on table T { T | summarize count() by Id }",
    );
    // The documented limits of .alter: same source, same group-by keys.
    run(
        &s,
        ".alter materialized-view V on table T { T | where V > 0 | summarize arg_max(Ts, *) by Id }",
    );
    assert!(
        fail(
            &s,
            ".alter materialized-view V on table T { T | summarize arg_max(Ts, *) by Id, V }"
        )
        .detail
        .contains("group by")
    );
    run(&s, ".alter materialized-view V docstring \"doc\"");
    run(&s, ".alter materialized-view V folder \"G\"");
    let shown = run(&s, ".show materialized-views");
    assert_eq!(rows(&shown).len(), 2);
    assert_eq!(rows(&shown)[0][8], json!("G"));
    assert_eq!(rows(&shown)[0][9], json!("doc"));
    // Names: no clash with a table; the source must exist and start the query.
    fail(
        &s,
        ".create materialized-view T on table T { T | summarize count() by Id }",
    );
    fail(
        &s,
        ".create materialized-view X on table Nope { Nope | summarize count() by Id }",
    );
    fail(&s, ".create materialized-view X on table T { T | take 1 }");
    // A view over a view, then neither can go while the other reads from it.
    run(
        &s,
        ".create materialized-view Over on materialized-view V { V | summarize count() by Id }",
    );
    fail(&s, ".drop materialized-view V");
    run(&s, ".rename materialized-view Over to Over2");
    run(&s, ".drop materialized-view Over2");
    run(&s, ".drop materialized-view V");
    fail(&s, ".drop materialized-view V");
    // The schema read carries the remaining view with its properties.
    let schema = run(&s, ".show database db schema as json");
    let doc: Value = serde_json::from_str(rows(&schema)[0][0].as_str().expect("schema cell"))
        .expect("schema json");
    let w = &doc["Databases"]["db"]["MaterializedViews"]["W"];
    assert_eq!(w["SourceTable"], json!("T"));
    assert_eq!(w["Query"], json!("T | summarize count() by Id"));
}

/// The schema document is written straight from the stored state (no `Value` tree): its text,
/// field order included, is the service's shape that observe and the fixtures expect.
#[test]
fn schema_json_text_is_the_services_shape() {
    let s = sandbox();
    run(
        &s,
        ".create table T (Id: long, Name: string) with (folder = \"f\", docstring = \"d\\\"q\")",
    );
    run(
        &s,
        ".create-or-alter function with (folder = \"g\") F(n: long) { T | take n }",
    );
    run(
        &s,
        ".create materialized-view V on table T { T | summarize count() by Id }",
    );
    let schema = run(&s, ".show database db schema as json");
    let text = rows(&schema)[0][0]
        .as_str()
        .expect("schema cell")
        .to_string();
    let version = serde_json::from_str::<Value>(&text).expect("schema json")["Databases"]["db"]
        ["MinorVersion"]
        .clone();
    let view: Value = serde_json::from_str(&text).expect("schema json");
    let view = &view["Databases"]["db"]["MaterializedViews"]["V"];
    let expected = format!(
        concat!(
            r#"{{"Databases":{{"db":{{"Name":"db","Tables":{{"T":{{"Name":"T","OrderedColumns":["#,
            r#"{{"Name":"Id","Type":"System.Int64","CslType":"long"}},"#,
            r#"{{"Name":"Name","Type":"System.String","CslType":"string"}}],"#,
            r#""EntityType":"Table","Folder":"f","DocString":"d\"q"}}}},"ExternalTables":{{}},"#,
            r#""MaterializedViews":{{"V":{{"Name":"V","SourceTable":"T","Query":{query},"#,
            r#""Folder":"","DocString":"","AutoUpdateSchema":false,"Lookback":null,"#,
            r#""EffectiveDateTime":{effective},"OrderedColumns":[]}}}},"#,
            r#""PrettyName":null,"MajorVersion":1,"MinorVersion":{version},"#,
            r#""Functions":{{"F":{{"Name":"F","InputParameters":[{{"Name":"n","Type":"System.Int64","#,
            r#""CslType":"long","CslDefaultValue":null}}],"Body":"{{ T | take n }}","#,
            r#""Folder":"g","DocString":"","FunctionKind":"Unknown","OutputColumns":[]}}}},"#,
            r#""DatabaseAccessMode":"ReadWrite"}}}}}}"#,
        ),
        query = view["Query"],
        effective = view["EffectiveDateTime"],
        version = version,
    );
    assert_eq!(text, expected);
}

/// Scripts answered concurrently (their records fsynced in groups after the lock) are all in
/// the files once answered: a second sandbox opened on the same directory, without the first
/// one shutting down, holds every table, and so does the first.
#[test]
fn concurrently_answered_scripts_are_all_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = vec!["db".to_string()];
    let s = KustoSandbox::open(dir.path(), &db).expect("open");
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let s = &s;
            scope.spawn(move || {
                for script in 0..5 {
                    let commands: Vec<String> = (0..10)
                        .map(|t| format!(".create table T{worker}_{script}_{t} (a:int)"))
                        .collect();
                    run(
                        s,
                        &format!(".execute database script <|\n{}", commands.join("\n")),
                    );
                    // A read answered after the writes sees them too.
                    let shown = run(s, ".show tables");
                    assert!(rows(&shown).len() >= (script + 1) * 10);
                }
            });
        }
    });
    let reopened = KustoSandbox::open(dir.path(), &db).expect("reopen");
    let tables = |s: &KustoSandbox| s.state().databases["db"].tables.clone();
    assert_eq!(tables(&reopened).len(), 200);
    assert_eq!(tables(&reopened), tables(&s));
}

/// A command whose record cannot be fsynced is not acknowledged, and the sandbox refuses
/// every later command rather than answer from a state the disk may not hold.
#[test]
fn a_failed_fsync_fails_the_command_and_every_later_one() {
    use crate::sandbox::group_commit::FAIL_NEXT_SYNC;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = KustoSandbox::open(dir.path(), &["db".to_string()]).expect("open");
    run(&s, ".create table Kept (a:int)");
    FAIL_NEXT_SYNC.with(|f| f.set(true));
    let err = fail(&s, ".create table Lost (a:int)");
    assert!(
        err.detail.contains("could not persist") && err.detail.contains("injected"),
        "{}",
        err.detail
    );
    for csl in [".create table Later (a:int)", ".show tables"] {
        let err = fail(&s, csl);
        assert!(
            err.detail.contains("an earlier fsync failed"),
            "{csl}: {}",
            err.detail
        );
    }
    assert!(s.query("db", "Kept", &root()).is_err());
    let reopened = KustoSandbox::open(dir.path(), &["db".to_string()]).expect("reopen");
    assert!(reopened.state().databases["db"].tables.contains_key("Kept"));
}

/// A view over a table whose name needs brackets: its query starts from the bracketed name, as
/// kustoplan quotes it (the sandbox once compared only the first bare word and refused it).
#[test]
fn a_view_query_may_start_from_a_bracketed_source_name() {
    let s = sandbox();
    run(&s, ".create table ['Raw Events'] (Id: long)");
    run(&s, ".create table Other (Id: long)");
    run(
        &s,
        ".create materialized-view V on table ['Raw Events'] { ['Raw Events'] | summarize count() by Id }",
    );
    run(
        &s,
        r#".create materialized-view W on table ['Raw Events'] { ["Raw Events"] | summarize count() by Id }"#,
    );
    assert_eq!(
        fail(
            &s,
            ".create materialized-view X on table ['Raw Events'] { Other | summarize count() by Id }",
        )
        .detail,
        "The query of materialized view 'X' must start from its source table 'Raw Events'."
    );
    fail(
        &s,
        ".create materialized-view Y on table ['Raw Events'] { ['Raw Events | summarize count() by Id }",
    );
}

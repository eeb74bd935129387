//! Exact command strings, our parser's reading of them, and their effect on the sandbox.

use serde_json::{Value, json};

use super::*;
use crate::kusto::command::{
    self, Command, EntityRef, MappingVerb, PolicyKind, PolicyShowTarget, PolicyTarget, PolicyValue,
    PrincipalAction, RoleScope as AstRoleScope, SchemaVerb, TableRef,
};
use crate::model::ColumnType;
use crate::model::{PrincipalKind, Timespan};
use crate::sandbox::kusto::{Caller, KustoSandbox};

const DB: &str = "game db";

fn parse(csl: &str) -> Command {
    command::parse(csl).unwrap_or_else(|e| panic!("{csl}\n{e}"))
}

fn table_ref(name: &str) -> TableRef {
    TableRef {
        database: None,
        table: name.to_string(),
    }
}

fn sandbox() -> KustoSandbox {
    KustoSandbox::in_memory(&[DB.to_string()]).expect("sandbox")
}

/// Runs a command and returns the rows of its primary result.
fn run(s: &KustoSandbox, csl: &str) -> Vec<Vec<Value>> {
    let r = s
        .execute(DB, csl, &Caller::cluster_admin("aaduser=test"))
        .unwrap_or_else(|e| panic!("{csl}: {e}"));
    r.primary()
        .map(|t| t.value_rows().map(<[Value]>::to_vec).collect())
        .unwrap_or_default()
}

/// Parses the JSON text of a single-cell result.
fn json_cell(rows: &[Vec<Value>], col: usize) -> Value {
    let text = rows[0][col].as_str().expect("text cell");
    serde_json::from_str(text).expect("json cell")
}

/// Table name -> (columns with canonical types, folder, docstring), from `.show database DB
/// schema as json`.
fn schema(s: &KustoSandbox) -> Value {
    let doc = json_cell(&run(s, &show_database_schema_json(DB)), 0);
    doc["Databases"][DB]["Tables"].clone()
}

fn columns_of(tables: &Value, table: &str) -> Vec<(String, ColumnType)> {
    tables[table]["OrderedColumns"]
        .as_array()
        .unwrap_or_else(|| panic!("no table {table} in {tables}"))
        .iter()
        .map(|c| {
            let ty = c["CslType"].as_str().and_then(ColumnType::parse);
            (
                c["Name"].as_str().expect("name").to_string(),
                ty.expect("type"),
            )
        })
        .collect()
}

fn app(id: &str) -> PrincipalRef {
    PrincipalRef::new(PrincipalKind::App, id, Some("72f988bf-tenant"))
}

const AWKWARD_COLUMNS: [(&str, ColumnType); 6] = [
    ("Id", ColumnType::Long),
    ("player name", ColumnType::String),
    ("score.v2-final", ColumnType::Real),
    ("table", ColumnType::Dynamic),
    ("string", ColumnType::Guid),
    ("Zeit_ü", ColumnType::DateTime),
];

#[test]
fn table_schema_commands_exact() {
    let cols = [("a", ColumnType::Int), ("b c", ColumnType::String)];
    assert_eq!(
        create_table("GamePlay", &cols),
        ".create table GamePlay (a:int, ['b c']:string)"
    );
    assert_eq!(
        create_merge_table("game-play.v1", &cols),
        ".create-merge table ['game-play.v1'] (a:int, ['b c']:string)"
    );
    assert_eq!(
        alter_merge_table("table", &[("where", ColumnType::Timespan)]).to_string(),
        ".alter-merge table ['table'] (['where']:timespan)"
    );
    assert_eq!(
        create_table("T", &AWKWARD_COLUMNS),
        ".create table T (Id:long, ['player name']:string, ['score.v2-final']:real, \
         ['table']:dynamic, ['string']:guid, ['Zeit_ü']:datetime)"
    );
    assert_eq!(
        create_table(r"it's\here", &[("x", ColumnType::Decimal)]),
        r".create table ['it\'s\\here'] (x:decimal)"
    );
}

#[test]
fn table_schema_commands_parse_to_what_was_meant() {
    for (csl, verb) in [
        (
            create_table(r"a'b\c d", &AWKWARD_COLUMNS),
            SchemaVerb::Create,
        ),
        (
            create_merge_table(r"a'b\c d", &AWKWARD_COLUMNS),
            SchemaVerb::CreateMerge,
        ),
        (
            alter_merge_table(r"a'b\c d", &AWKWARD_COLUMNS).to_string(),
            SchemaVerb::AlterMerge,
        ),
    ] {
        let Command::TableSchema {
            verb: parsed_verb,
            table,
            columns,
            properties,
        } = parse(&csl)
        else {
            panic!("{csl}");
        };
        assert_eq!(parsed_verb, verb);
        assert_eq!(table, table_ref(r"a'b\c d"));
        assert!(properties.is_empty());
        let got: Vec<(String, ColumnType)> = columns.into_iter().map(|c| (c.name, c.ty)).collect();
        let want: Vec<(String, ColumnType)> = AWKWARD_COLUMNS
            .iter()
            .map(|(n, t)| {
                (
                    n.to_string(),
                    ColumnType::from_kql(t.as_kql()).expect("type"),
                )
            })
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn column_and_table_commands_exact_and_parsed() {
    assert_eq!(
        alter_column_type("Game Play", "score.v2", ColumnType::Long).to_string(),
        ".alter column ['Game Play'].['score.v2'] type=long"
    );
    assert_eq!(
        parse(&alter_column_type("Game Play", "score.v2", ColumnType::Long).to_string()),
        Command::AlterColumnType {
            table: table_ref("Game Play"),
            column: "score.v2".into(),
            ty: ColumnType::Long,
        }
    );
    assert_eq!(drop_column("T", "c").to_string(), ".drop column T.c");
    assert_eq!(
        drop_column("a.b", "type").to_string(),
        ".drop column ['a.b'].['type']"
    );
    assert_eq!(
        parse(&drop_column("a.b", "type").to_string()),
        Command::DropColumn {
            table: table_ref("a.b"),
            column: "type".into(),
            if_exists: false,
        }
    );
    assert_eq!(
        drop_table("GamePlay").to_string(),
        ".drop table GamePlay ifexists"
    );
    assert_eq!(
        drop_table("table").to_string(),
        ".drop table ['table'] ifexists"
    );
    assert_eq!(
        parse(&drop_table("x-y").to_string()),
        Command::DropTable {
            table: table_ref("x-y"),
            if_exists: true,
        }
    );
}

#[test]
fn rename_and_show_table_schema_exact_and_parsed() {
    assert_eq!(
        rename_table("kustoplan_lease_s_1", "kustoplan_lease_s").to_string(),
        ".rename table kustoplan_lease_s_1 to kustoplan_lease_s"
    );
    assert_eq!(
        rename_table("a b", "to").to_string(),
        ".rename table ['a b'] to ['to']"
    );
    assert_eq!(
        parse(&rename_table("a b", "to").to_string()),
        Command::RenameTable {
            from: "a b".into(),
            to: "to".into(),
        }
    );
    assert_eq!(
        show_table_schema_json("Game Play"),
        ".show table ['Game Play'] schema as json"
    );
    assert_eq!(
        parse(&show_table_schema_json("Game Play")),
        Command::ShowTableSchemaJson {
            table: table_ref("Game Play"),
        }
    );
}

#[test]
fn docstring_and_folder_exact_and_parsed() {
    let text = "Owned by \"kustoplan\" stack=prod\\eu\nline 2\ttab";
    assert_eq!(
        alter_table_docstring("T", text).to_string(),
        r#".alter table T docstring "Owned by \"kustoplan\" stack=prod\\eu\nline 2\ttab""#
    );
    assert_eq!(
        alter_table_folder("my table", "kustoplan/prod").to_string(),
        r#".alter table ['my table'] folder "kustoplan/prod""#
    );
    assert_eq!(
        parse(&alter_table_docstring("T", text).to_string()),
        Command::AlterDocString {
            table: table_ref("T"),
            docstring: text.into(),
        }
    );
    assert_eq!(
        parse(&alter_table_folder("a'b", "it's \"here\"").to_string()),
        Command::AlterFolder {
            table: table_ref("a'b"),
            folder: "it's \"here\"".into(),
        }
    );
}

fn gameplay_mapping() -> Value {
    json!([
        {"column": "Id", "Properties": {"Path": "$.id"}},
        {"column": "player name", "datatype": "string", "Properties": {"Path": "$['player \"x\" name']"}},
        {"column": "score.v2-final", "Properties": {"Path": "$.score\\v2"}}
    ])
}

#[test]
fn mapping_commands_exact_and_parsed() {
    assert_eq!(
        create_or_alter_mapping(
            "GamePlay",
            MappingKind::Json,
            "gameplay_json_mapping",
            &json!([{"column": "a", "Properties": {"Path": "$.a"}}])
        )
        .to_string(),
        r#".create-or-alter table GamePlay ingestion json mapping "gameplay_json_mapping" "[{\"column\":\"a\",\"Properties\":{\"Path\":\"$.a\"}}]""#
    );
    assert_eq!(
        drop_mapping("Game Play", MappingKind::Csv, "csv \"m\"").to_string(),
        r#".drop table ['Game Play'] ingestion csv mapping "csv \"m\"""#
    );
    let mapping = gameplay_mapping();
    let Command::SetMapping {
        verb,
        entity,
        kind,
        name,
        json,
    } = parse(
        &create_or_alter_mapping("game play", MappingKind::Json, "my-map.v1", &mapping).to_string(),
    )
    else {
        panic!("not a mapping command");
    };
    assert_eq!(verb, MappingVerb::CreateOrAlter);
    assert_eq!(entity, EntityRef::Table(table_ref("game play")));
    assert_eq!(kind, MappingKind::Json);
    assert_eq!(name, "my-map.v1");
    assert_eq!(serde_json::from_str::<Value>(&json).expect("json"), mapping);
    assert!(!json.contains('\n'));
    for kind in MappingKind::ALL {
        let csl = drop_mapping("T", kind, "m").to_string();
        let Command::DropMapping { kind: parsed, .. } = parse(&csl) else {
            panic!("{csl}");
        };
        assert_eq!(parsed.as_kql(), kind.as_kql());
    }
}

fn policy() -> BatchingPolicy {
    BatchingPolicy {
        max_time: Timespan::from_secs(10),
        max_items: 100,
        max_raw_size_mb: 256,
    }
}

#[test]
fn policy_commands_exact() {
    assert_eq!(
        alter_batching_policy(PolicyScope::Table("GamePlay"), &policy()).to_string(),
        r#".alter table GamePlay policy ingestionbatching "{\"MaximumBatchingTimeSpan\":\"00:00:10\",\"MaximumNumberOfItems\":100,\"MaximumRawDataSizeMB\":256}""#
    );
    assert_eq!(
        alter_batching_policy(PolicyScope::Database("game db"), &BatchingPolicy::DEFAULTS)
            .to_string(),
        r#".alter database ['game db'] policy ingestionbatching "{\"MaximumBatchingTimeSpan\":\"00:05:00\",\"MaximumNumberOfItems\":500,\"MaximumRawDataSizeMB\":1024}""#
    );
    assert_eq!(
        delete_batching_policy(PolicyScope::Table("a b")).to_string(),
        ".delete table ['a b'] policy ingestionbatching"
    );
    assert_eq!(
        delete_batching_policy(PolicyScope::Database("db")).to_string(),
        ".delete database db policy ingestionbatching"
    );
    assert_eq!(
        alter_streaming_policy(PolicyScope::Table("T"), true).to_string(),
        r#".alter table T policy streamingingestion "{\"IsEnabled\":true}""#
    );
    assert_eq!(
        alter_streaming_policy(PolicyScope::Database("where"), false).to_string(),
        r#".alter database ['where'] policy streamingingestion "{\"IsEnabled\":false}""#
    );
    assert_eq!(
        delete_streaming_policy(PolicyScope::Table("T")).to_string(),
        ".delete table T policy streamingingestion"
    );
}

#[test]
fn policy_commands_parse_to_what_was_meant() {
    let Command::AlterPolicy {
        merge,
        target,
        policy: kind,
        value,
    } = parse(&alter_batching_policy(PolicyScope::Table("a'b"), &policy()).to_string())
    else {
        panic!("not a policy command");
    };
    assert!(!merge);
    assert_eq!(target, PolicyTarget::Tables(vec![table_ref("a'b")]));
    assert_eq!(kind, PolicyKind::IngestionBatching);
    let parsed = serde_json::from_str::<Value>(&value.to_json()).expect("json");
    assert_eq!(BatchingPolicy::from_json(&parsed), Some(policy()));
    assert_eq!(
        parse(&delete_streaming_policy(PolicyScope::Database("game db")).to_string()),
        Command::DeletePolicy {
            entity: EntityRef::Database("game db".into()),
            policy: PolicyKind::StreamingIngestion,
        }
    );
    assert_eq!(
        parse(&alter_streaming_policy(PolicyScope::Database("x"), true).to_string()),
        Command::AlterPolicy {
            merge: false,
            target: PolicyTarget::Database("x".into()),
            policy: PolicyKind::StreamingIngestion,
            value: PolicyValue::Json(r#"{"IsEnabled":true}"#.into()),
        }
    );
}

#[test]
fn principal_commands_exact() {
    let p = [app("0000-APP")];
    assert_eq!(
        add_principals(
            RoleScope::Database("game db", DatabaseRole::Admins),
            &p,
            Some("AAD App")
        )
        .to_string(),
        r#".add database ['game db'] admins ("aadapp=0000-app;72f988bf-tenant") "AAD App""#
    );
    assert_eq!(
        drop_principals(RoleScope::Database("game db", DatabaseRole::Admins), &p).to_string(),
        r#".drop database ['game db'] admins ("aadapp=0000-app;72f988bf-tenant")"#
    );
    let two = [
        PrincipalRef::new(PrincipalKind::User, "Jane@Contoso.com", None),
        PrincipalRef::new(PrincipalKind::Group, "ops", Some("contoso.com")),
    ];
    assert_eq!(
        add_principals(RoleScope::Table("T", TableRole::Ingestors), &two, None).to_string(),
        r#".add table T ingestors ("aaduser=jane@contoso.com", "aadgroup=ops;contoso.com")"#
    );
    assert_eq!(
        drop_principals(RoleScope::Table("table", TableRole::Admins), &two[..1]).to_string(),
        r#".drop table ['table'] admins ("aaduser=jane@contoso.com")"#
    );
    assert_eq!(
        add_principals(
            RoleScope::Database("db", DatabaseRole::Viewers),
            &two[..1],
            Some("say \"hi\"")
        )
        .to_string(),
        r#".add database db viewers ("aaduser=jane@contoso.com") "say \"hi\"""#
    );
}

#[test]
fn principal_commands_parse_for_every_role() {
    let p = [app("x")];
    for role in DatabaseRole::ALL {
        for (csl, action) in [
            (
                add_principals(RoleScope::Database(DB, role), &p, Some("n")).to_string(),
                PrincipalAction::Add,
            ),
            (
                drop_principals(RoleScope::Database(DB, role), &p).to_string(),
                PrincipalAction::Drop,
            ),
        ] {
            let Command::Principals {
                action: a,
                scope,
                principals,
                ..
            } = parse(&csl)
            else {
                panic!("{csl}");
            };
            assert_eq!(a, action, "{csl}");
            assert_eq!(scope, AstRoleScope::Database(DB.into(), role), "{csl}");
            assert_eq!(principals, [p[0].fqn()], "{csl}");
        }
    }
    for role in TableRole::ALL {
        let csl = drop_principals(RoleScope::Table("a b", role), &p).to_string();
        let Command::Principals { action, scope, .. } = parse(&csl) else {
            panic!("{csl}");
        };
        assert_eq!(action, PrincipalAction::Drop);
        assert_eq!(scope, AstRoleScope::Table(table_ref("a b"), role));
    }
}

#[test]
fn show_commands_exact_and_parsed() {
    let cases: [(String, &str, Command); 12] = [
        (show_databases(), ".show databases", Command::ShowDatabases),
        (
            show_database_schema_script(DB),
            ".show database ['game db'] schema as csl script with (IncludeEncodingPolicies = false, IncludeIngestionMappings = false)",
            Command::ShowDatabaseSchemaScript {
                database: DB.into(),
                options: command::SchemaScriptOptions {
                    include_encoding_policies: false,
                    include_security_settings: true,
                    include_ingestion_mappings: false,
                },
            },
        ),
        (
            show_database_schema_json(DB),
            ".show database ['game db'] schema as json",
            Command::ShowDatabaseSchemaJson {
                database: DB.into(),
            },
        ),
        (
            show_database_mappings(DB),
            ".show database ['game db'] ingestion mappings",
            Command::ShowMappings {
                entity: EntityRef::Database(DB.into()),
                kind: None,
                name: None,
            },
        ),
        (
            show_table_mappings("T"),
            ".show table T ingestion mappings",
            Command::ShowMappings {
                entity: EntityRef::Table(table_ref("T")),
                kind: None,
                name: None,
            },
        ),
        (
            show_tables_batching_policy(),
            ".show table * policy ingestionbatching",
            Command::ShowPolicy {
                target: PolicyShowTarget::AllTables,
                policy: PolicyKind::IngestionBatching,
            },
        ),
        (
            show_batching_policy(PolicyScope::Table("a.b")),
            ".show table ['a.b'] policy ingestionbatching",
            Command::ShowPolicy {
                target: PolicyShowTarget::Table(table_ref("a.b")),
                policy: PolicyKind::IngestionBatching,
            },
        ),
        (
            show_batching_policy(PolicyScope::Database("db")),
            ".show database db policy ingestionbatching",
            Command::ShowPolicy {
                target: PolicyShowTarget::Database("db".into()),
                policy: PolicyKind::IngestionBatching,
            },
        ),
        (
            show_streaming_policy(PolicyScope::Table("T")),
            ".show table T policy streamingingestion",
            Command::ShowPolicy {
                target: PolicyShowTarget::Table(table_ref("T")),
                policy: PolicyKind::StreamingIngestion,
            },
        ),
        (
            show_streaming_policy(PolicyScope::Database(DB)),
            ".show database ['game db'] policy streamingingestion",
            Command::ShowPolicy {
                target: PolicyShowTarget::Database(DB.into()),
                policy: PolicyKind::StreamingIngestion,
            },
        ),
        (
            show_database_principals(DB),
            ".show database ['game db'] principals",
            Command::ShowDatabasePrincipals {
                database: DB.into(),
            },
        ),
        (
            show_table_principals("table"),
            ".show table ['table'] principals",
            Command::ShowTablePrincipals {
                table: table_ref("table"),
            },
        ),
    ];
    for (csl, want_text, want) in cases {
        assert_eq!(csl, want_text);
        assert_eq!(parse(&csl), want, "{csl}");
    }
}

#[test]
fn execute_script_exact_and_parsed() {
    let commands = vec![
        create_merge_table("a b", &[("x", ColumnType::Int)]),
        alter_table_docstring("a b", "line1\nline2 .drop table X").to_string(),
        create_or_alter_mapping("a b", MappingKind::Json, "m", &gameplay_mapping()).to_string(),
    ];
    let script = execute_script(&commands, false);
    assert_eq!(
        script.lines().collect::<Vec<_>>(),
        [
            ".execute database script with (ContinueOnErrors=false) <|",
            commands[0].as_str(),
            commands[1].as_str(),
            commands[2].as_str(),
        ]
    );
    assert!(
        execute_script(&commands[..1], true)
            .starts_with(".execute database script with (ContinueOnErrors=true) <|\n.create-merge")
    );
    let Command::ExecuteScript {
        continue_on_errors,
        throw_on_errors,
        commands: parsed,
    } = parse(&script)
    else {
        panic!("not a script");
    };
    assert!(!continue_on_errors && !throw_on_errors);
    let texts: Vec<&str> = parsed.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        commands.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[test]
fn sandbox_round_trip_tables_columns_docstring_folder() {
    let s = sandbox();
    let table = "Game Play.v1-x";
    run(&s, &create_table(table, &AWKWARD_COLUMNS));
    run(&s, &create_table("where", &[("a", ColumnType::Int)]));
    let tables = schema(&s);
    let want: Vec<(String, ColumnType)> = AWKWARD_COLUMNS
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
    assert_eq!(columns_of(&tables, table), want);
    assert_eq!(
        columns_of(&tables, "where"),
        [("a".into(), ColumnType::Int)]
    );

    run(
        &s,
        &create_merge_table(
            table,
            &[("Id", ColumnType::Long), ("new col", ColumnType::Bool)],
        ),
    );
    run(
        &s,
        &alter_merge_table(table, &[("timespan", ColumnType::Timespan)]).to_string(),
    );
    run(
        &s,
        &alter_column_type(table, "score.v2-final", ColumnType::Decimal).to_string(),
    );
    run(&s, &drop_column(table, "table").to_string());
    let docstring = "managed-by: kustoplan \"prod\" \\ stack\nsecond line";
    run(&s, &alter_table_docstring(table, docstring).to_string());
    run(&s, &alter_table_folder(table, "kustoplan/it's").to_string());
    let tables = schema(&s);
    let names: Vec<(String, ColumnType)> = columns_of(&tables, table);
    assert_eq!(
        names,
        [
            ("Id".into(), ColumnType::Long),
            ("player name".into(), ColumnType::String),
            ("score.v2-final".into(), ColumnType::Decimal),
            ("string".into(), ColumnType::Guid),
            ("Zeit_ü".into(), ColumnType::DateTime),
            ("new col".into(), ColumnType::Bool),
            ("timespan".into(), ColumnType::Timespan),
        ]
    );
    assert_eq!(tables[table]["DocString"], json!(docstring));
    assert_eq!(tables[table]["Folder"], json!("kustoplan/it's"));

    run(&s, &drop_table("where").to_string());
    run(&s, &drop_table("where").to_string());
    assert!(schema(&s).get("where").is_none());
}

#[test]
fn sandbox_round_trip_mappings() {
    let s = sandbox();
    run(&s, &create_table("game play", &AWKWARD_COLUMNS));
    run(
        &s,
        &create_or_alter_mapping(
            "game play",
            MappingKind::Json,
            "map-1.v2",
            &gameplay_mapping(),
        )
        .to_string(),
    );
    let rows = run(&s, &show_database_mappings(DB));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], json!("map-1.v2"));
    assert_eq!(rows[0][1], json!("JSON"));
    assert_eq!(rows[0][5], json!("game play"));
    // The service stores a canonical form (datatype defaulted): compare what matters.
    let stored = json_cell(&rows, 2);
    let paths: Vec<(&Value, &Value)> = stored
        .as_array()
        .expect("array")
        .iter()
        .map(|e| (&e["column"], &e["Properties"]["Path"]))
        .collect();
    assert_eq!(
        paths,
        [
            (&json!("Id"), &json!("$.id")),
            (&json!("player name"), &json!("$['player \"x\" name']")),
            (&json!("score.v2-final"), &json!("$.score\\v2")),
        ]
    );
    assert_eq!(run(&s, &show_table_mappings("game play")).len(), 1);
    run(
        &s,
        &drop_mapping("game play", MappingKind::Json, "map-1.v2").to_string(),
    );
    assert!(run(&s, &show_database_mappings(DB)).is_empty());
}

#[test]
fn sandbox_round_trip_policies() {
    let s = sandbox();
    run(&s, &create_table("T", &[("a", ColumnType::Int)]));
    run(&s, &create_table("x y", &[("a", ColumnType::Int)]));
    run(
        &s,
        &alter_batching_policy(PolicyScope::Table("x y"), &policy()).to_string(),
    );
    let rows = run(&s, &show_tables_batching_policy());
    let by_entity: Vec<(&Value, Option<BatchingPolicy>)> = rows
        .iter()
        .map(|r| {
            let policy = r[2]
                .as_str()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .and_then(|v| BatchingPolicy::from_json(&v));
            (&r[1], policy.filter(|_| r[2] != json!("null")))
        })
        .collect();
    assert_eq!(
        by_entity,
        [
            (&json!("[game db].[T]"), None),
            (&json!("[game db].[x y]"), Some(policy())),
        ]
    );
    run(
        &s,
        &alter_batching_policy(PolicyScope::Database(DB), &policy()).to_string(),
    );
    let rows = run(&s, &show_batching_policy(PolicyScope::Database(DB)));
    assert_eq!(
        BatchingPolicy::from_json(&json_cell(&rows, 2)),
        Some(policy())
    );
    run(
        &s,
        &delete_batching_policy(PolicyScope::Table("x y")).to_string(),
    );
    run(
        &s,
        &delete_batching_policy(PolicyScope::Database(DB)).to_string(),
    );
    let rows = run(&s, &show_batching_policy(PolicyScope::Table("x y")));
    assert_eq!(rows[0][2], json!("null"));

    run(
        &s,
        &alter_streaming_policy(PolicyScope::Table("x y"), true).to_string(),
    );
    let rows = run(&s, &show_streaming_policy(PolicyScope::Table("x y")));
    assert_eq!(json_cell(&rows, 2)["IsEnabled"], json!(true));
    run(
        &s,
        &alter_streaming_policy(PolicyScope::Database(DB), false).to_string(),
    );
    let rows = run(&s, &show_streaming_policy(PolicyScope::Database(DB)));
    assert_eq!(json_cell(&rows, 2)["IsEnabled"], json!(false));
    run(
        &s,
        &delete_streaming_policy(PolicyScope::Table("x y")).to_string(),
    );
    run(
        &s,
        &delete_streaming_policy(PolicyScope::Database(DB)).to_string(),
    );
    let rows = run(&s, &show_streaming_policy(PolicyScope::Table("x y")));
    assert_eq!(rows[0][2], json!("null"));
}

#[test]
fn sandbox_round_trip_principals() {
    let s = sandbox();
    run(&s, &create_table("a b", &[("x", ColumnType::Int)]));
    let admin = app("0000-APP");
    let user = PrincipalRef::new(PrincipalKind::User, "Jane@Contoso.com", None);
    run(
        &s,
        &add_principals(
            RoleScope::Database(DB, DatabaseRole::Admins),
            std::slice::from_ref(&admin),
            Some("AAD \"App\""),
        )
        .to_string(),
    );
    run(
        &s,
        &add_principals(
            RoleScope::Database(DB, DatabaseRole::Viewers),
            std::slice::from_ref(&user),
            None,
        )
        .to_string(),
    );
    run(
        &s,
        &add_principals(
            RoleScope::Table("a b", TableRole::Ingestors),
            std::slice::from_ref(&admin),
            None,
        )
        .to_string(),
    );
    // The sandbox lists principals as its directory resolved them.
    let listed = |p: &PrincipalRef| {
        crate::sandbox::kusto::resolved_fqn(&p.fqn())
            .ok()
            .and_then(|f| PrincipalRef::parse_fqn(&f))
    };
    let assignments = |s: &KustoSandbox| -> Vec<(String, Option<PrincipalRef>, String)> {
        run(s, &show_database_principals(DB))
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[4].as_str().and_then(PrincipalRef::parse_fqn),
                    r[5].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        assignments(&s),
        [
            (
                "Database game db Admin".to_string(),
                listed(&admin),
                "AAD \"App\"".to_string()
            ),
            (
                "Database game db Viewer".to_string(),
                listed(&user),
                String::new()
            ),
        ]
    );
    let table_rows = run(&s, &show_table_principals("a b"));
    assert_eq!(table_rows.len(), 1);
    assert_eq!(table_rows[0][4], json!(listed(&admin).map(|p| p.fqn())));

    run(
        &s,
        &drop_principals(
            RoleScope::Database(DB, DatabaseRole::Admins),
            std::slice::from_ref(&admin),
        )
        .to_string(),
    );
    run(
        &s,
        &drop_principals(
            RoleScope::Table("a b", TableRole::Ingestors),
            std::slice::from_ref(&admin),
        )
        .to_string(),
    );
    assert_eq!(
        assignments(&s),
        [(
            "Database game db Viewer".to_string(),
            listed(&user),
            String::new()
        )]
    );
    assert!(run(&s, &show_table_principals("a b")).is_empty());
}

#[test]
fn sandbox_runs_a_rendered_script() {
    let s = sandbox();
    let commands = vec![
        create_merge_table("GamePlay", &[("a", ColumnType::Int)]),
        alter_table_docstring("GamePlay", "x\n.drop table GamePlay").to_string(),
        create_or_alter_mapping(
            "GamePlay",
            MappingKind::Json,
            "m",
            &json!([{"column": "a"}]),
        )
        .to_string(),
        alter_batching_policy(PolicyScope::Table("GamePlay"), &policy()).to_string(),
    ];
    let rows = run(&s, &execute_script(&commands, false));
    let results: Vec<(&Value, &Value)> = rows.iter().map(|r| (&r[2], &r[3])).collect();
    let want: Vec<(Value, Value)> = commands
        .iter()
        .map(|c| (json!(c), json!("Completed")))
        .collect();
    assert_eq!(
        results,
        want.iter().map(|(a, b)| (a, b)).collect::<Vec<_>>()
    );
    assert_eq!(
        schema(&s)["GamePlay"]["DocString"],
        json!("x\n.drop table GamePlay")
    );
}

#[test]
fn execute_script_exact() {
    assert_eq!(
        execute_script(
            &[
                create_table("A", &[("a", ColumnType::Int)]),
                drop_table("B").to_string()
            ],
            false
        ),
        ".execute database script with (ContinueOnErrors=false) <|\n.create table A (a:int)\n.drop table B ifexists"
    );
}

mod quoting_properties {
    use proptest::prelude::*;

    use super::*;

    /// Text mixing the characters quoting must handle with arbitrary Unicode.
    fn awkward_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('\''),
                Just('"'),
                Just('\\'),
                Just('\n'),
                Just('\r'),
                Just('\t'),
                Just('\u{0}'),
                Just('\u{7f}'),
                Just(']'),
                Just('['),
                Just(' '),
                Just('.'),
                Just('/'),
                Just('|'),
                Just('<'),
                any::<char>(),
                proptest::char::range('a', 'z'),
            ],
            0..24,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

        /// Whatever the names, the command names exactly those entities.
        #[test]
        fn names_survive_quoting(table in awkward_text(), column in awkward_text()) {
            let csl = create_table(&table, &[(column.as_str(), ColumnType::String)]);
            prop_assert!(!csl.contains('\n'), "{}", csl);
            let Command::TableSchema { table: t, columns, .. } = parse(&csl) else {
                panic!("{csl}");
            };
            prop_assert_eq!(t, table_ref(&table));
            prop_assert_eq!(&columns[0].name, &column);
        }

        /// Whatever the text, the literal holds exactly that text, on one line.
        #[test]
        fn strings_survive_quoting(text in awkward_text()) {
            let csl = alter_table_docstring("T", &text).to_string();
            prop_assert!(!csl.contains('\n'), "{}", csl);
            let Command::AlterDocString { docstring, .. } = parse(&csl) else {
                panic!("{csl}");
            };
            prop_assert_eq!(docstring, text);
        }
    }
}

#[test]
fn schema_script_forms_exact_and_parsed() {
    let cols = [("a b", ColumnType::Int), ("c", ColumnType::Dynamic)];
    assert_eq!(
        create_merge_table_with("T", &cols, "", ""),
        create_merge_table("T", &cols)
    );
    let with_both = create_merge_table_with("x y", &cols, "Game\\Raw", "it's \"here\"");
    assert_eq!(
        with_both,
        r#".create-merge table ['x y'] (['a b']:int, c:dynamic) with (folder = "Game\\Raw", docstring = "it's \"here\"")"#
    );
    let Command::TableSchema { properties, .. } = parse(&with_both) else {
        panic!("{with_both}");
    };
    assert_eq!(
        properties
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect::<Vec<_>>(),
        [("folder", "Game\\Raw"), ("docstring", "it's \"here\"")]
    );
    assert_eq!(
        create_merge_table_with("T", &cols[1..], "", "doc"),
        r#".create-merge table T (c:dynamic) with (docstring = "doc")"#
    );
    let policy = json!({"IsEnabled": true, "HintAllocatedRate": 2.5});
    let csl = alter_policy(
        PolicyScope::Database(DB),
        PolicyKind::StreamingIngestion,
        &policy,
    )
    .to_string();
    assert_eq!(
        csl,
        r#".alter database ['game db'] policy streamingingestion "{\"IsEnabled\":true,\"HintAllocatedRate\":2.5}""#
    );
    assert_eq!(
        parse(&csl),
        Command::AlterPolicy {
            merge: false,
            target: PolicyTarget::Database(DB.into()),
            policy: PolicyKind::StreamingIngestion,
            value: PolicyValue::Json(policy.to_string()),
        }
    );
    let csl = add_principal_fqns(
        RoleScope::Table("a b", TableRole::Admins),
        &["msauser=someone@live.com"],
        None,
    )
    .to_string();
    assert_eq!(
        csl,
        r#".add table ['a b'] admins ("msauser=someone@live.com")"#
    );
}

use super::*;
use crate::model::{ColumnType, MappingKind};

fn ok(csl: &str) -> Command {
    parse(csl).unwrap_or_else(|e| panic!("{csl:?} should parse: {e}"))
}

fn err(csl: &str) -> String {
    match parse(csl) {
        Ok(cmd) => panic!("{csl:?} should fail, parsed as {cmd:?}"),
        Err(e) => e.to_string(),
    }
}

fn t(name: &str) -> TableRef {
    TableRef {
        database: None,
        table: name.into(),
    }
}

fn col(name: &str, ty: ColumnType) -> ColumnDecl {
    ColumnDecl {
        name: name.into(),
        ty,
    }
}

#[test]
fn create_table_with_aliases_and_properties() {
    let cmd = ok(
        ".create table ['Game Play'] (PlayerId: int32, Ts:datetime, Ok:boolean) with (docstring = 'Plays', folder = @\"A\\B\")",
    );
    assert_eq!(
        cmd,
        Command::TableSchema {
            verb: SchemaVerb::Create,
            table: t("Game Play"),
            columns: vec![
                col("PlayerId", ColumnType::Int),
                col("Ts", ColumnType::DateTime),
                col("Ok", ColumnType::Bool)
            ],
            properties: vec![
                Property::text("docstring", "Plays"),
                Property::text("folder", "A\\B")
            ],
        }
    );
}

#[test]
fn schema_verbs_and_qualified_tables() {
    let Command::TableSchema { verb, table, .. } = ok(".create-merge table Db.T (a:long)") else {
        panic!("expected TableSchema");
    };
    assert_eq!(verb, SchemaVerb::CreateMerge);
    assert_eq!(
        table,
        TableRef {
            database: Some("Db".into()),
            table: "T".into()
        }
    );
    assert!(matches!(
        ok(".alter table T (a:string)"),
        Command::TableSchema {
            verb: SchemaVerb::Alter,
            ..
        }
    ));
    assert!(matches!(
        ok(".alter-merge table T (a:string, b:dynamic)"),
        Command::TableSchema {
            verb: SchemaVerb::AlterMerge,
            ..
        }
    ));
}

#[test]
fn alter_column_drop_column_drop_table() {
    assert_eq!(
        ok(".alter column ['T'].['ColumnX'] type=string"),
        Command::AlterColumnType {
            table: t("T"),
            column: "ColumnX".into(),
            ty: ColumnType::String
        }
    );
    assert_eq!(
        ok(".alter column Db.T.C type = long"),
        Command::AlterColumnType {
            table: TableRef {
                database: Some("Db".into()),
                table: "T".into()
            },
            column: "C".into(),
            ty: ColumnType::Long
        }
    );
    assert_eq!(
        ok(".drop column Test.Value ifexists"),
        Command::DropColumn {
            table: t("Test"),
            column: "Value".into(),
            if_exists: true
        }
    );
    assert_eq!(
        ok(".drop table CustomersTable ifexists"),
        Command::DropTable {
            table: t("CustomersTable"),
            if_exists: true
        }
    );
    assert_eq!(
        ok(".drop table T"),
        Command::DropTable {
            table: t("T"),
            if_exists: false
        }
    );
}

#[test]
fn docstring_and_folder() {
    assert_eq!(
        ok(r#".alter table LyricsAsTable docstring "This is the theme to Garry's show""#),
        Command::AlterDocString {
            table: t("LyricsAsTable"),
            docstring: "This is the theme to Garry's show".into()
        }
    );
    assert_eq!(
        ok(r#".alter table MyTable folder @"First Level\Second Level""#),
        Command::AlterFolder {
            table: t("MyTable"),
            folder: "First Level\\Second Level".into()
        }
    );
}

#[test]
fn mapping_with_concatenated_multiline_literal() {
    let csl = ".create table MyTable ingestion csv mapping \"Mapping1\"\n'['\n'   { \"column\" : \"rownumber\", \"Properties\":{\"Ordinal\":\"0\"}}'\n']'";
    assert_eq!(
        ok(csl),
        Command::SetMapping {
            verb: MappingVerb::Create,
            entity: EntityRef::Table(t("MyTable")),
            kind: MappingKind::Csv,
            name: "Mapping1".into(),
            json: "[   { \"column\" : \"rownumber\", \"Properties\":{\"Ordinal\":\"0\"}}]".into(),
        }
    );
}

#[test]
fn mapping_with_escaped_quotes_and_backtick_block() {
    let Command::SetMapping { json, .. } = ok(
        r#".create table test_table ingestion json mapping "m" '[{"column":"a","path":"$[\'a b\']"}]'"#,
    ) else {
        panic!("expected SetMapping");
    };
    assert_eq!(json, r#"[{"column":"a","path":"$['a b']"}]"#);
    let cmd = ok(".alter database Db ingestion JSON mapping 'm'\n```\n[{\"column\":\"a\"}]\n```");
    assert_eq!(
        cmd,
        Command::SetMapping {
            verb: MappingVerb::Alter,
            entity: EntityRef::Database("Db".into()),
            kind: MappingKind::Json,
            name: "m".into(),
            json: "\n[{\"column\":\"a\"}]\n".into(),
        }
    );
    assert!(matches!(
        ok(".create-or-alter table T ingestion avro mapping m '[]'"),
        Command::SetMapping {
            verb: MappingVerb::CreateOrAlter,
            kind: MappingKind::Avro,
            ..
        }
    ));
}

#[test]
fn mapping_drop_and_show_forms() {
    assert_eq!(
        ok(r#".drop database MyDatabase ingestion csv mapping "Mapping2""#),
        Command::DropMapping {
            entity: EntityRef::Database("MyDatabase".into()),
            kind: MappingKind::Csv,
            name: "Mapping2".into()
        }
    );
    assert_eq!(
        ok(".show database Db ingestion mappings"),
        Command::ShowMappings {
            entity: EntityRef::Database("Db".into()),
            kind: None,
            name: None
        }
    );
    assert_eq!(
        ok(".show table T ingestion json mappings"),
        Command::ShowMappings {
            entity: EntityRef::Table(t("T")),
            kind: Some(MappingKind::Json),
            name: None
        }
    );
    assert_eq!(
        ok(r#".show table MyTable ingestion csv mapping "mapping1""#),
        Command::ShowMappings {
            entity: EntityRef::Table(t("MyTable")),
            kind: Some(MappingKind::Csv),
            name: Some("mapping1".into())
        }
    );
}

#[test]
fn policies() {
    let csl = ".alter table MyDatabase.MyTable policy ingestionbatching\n```\n{\"MaximumBatchingTimeSpan\" : \"00:00:30\"}\n```";
    assert_eq!(
        ok(csl),
        Command::AlterPolicy {
            merge: false,
            target: PolicyTarget::Tables(vec![TableRef {
                database: Some("MyDatabase".into()),
                table: "MyTable".into()
            }]),
            policy: PolicyKind::IngestionBatching,
            value: PolicyValue::Json("\n{\"MaximumBatchingTimeSpan\" : \"00:00:30\"}\n".into()),
        }
    );
    assert!(matches!(
        ok(".alter tables (A, B) policy ingestionbatching '{}'"),
        Command::AlterPolicy { target: PolicyTarget::Tables(ts), .. } if ts.len() == 2
    ));
    assert!(matches!(
        ok(".alter-merge database Db policy streamingingestion '{\"IsEnabled\":true}'"),
        Command::AlterPolicy {
            merge: true,
            target: PolicyTarget::Database(_),
            policy: PolicyKind::StreamingIngestion,
            ..
        }
    ));
    for (word, on) in [("enable", true), ("disable", false)] {
        assert_eq!(
            ok(&format!(
                ".alter database Db policy streamingingestion {word}"
            )),
            Command::AlterPolicy {
                merge: false,
                target: PolicyTarget::Database("Db".into()),
                policy: PolicyKind::StreamingIngestion,
                value: PolicyValue::Switch(on),
            }
        );
    }
    assert_eq!(
        err(".alter table T policy ingestionbatching enable"),
        "Syntax error: SYN0002: expected a string literal but found 'enable' [line:position=1:40]"
    );
    assert_eq!(
        ok(".show table * policy ingestionbatching"),
        Command::ShowPolicy {
            target: PolicyShowTarget::AllTables,
            policy: PolicyKind::IngestionBatching
        }
    );
    assert_eq!(
        ok(".delete table MyTable policy streamingingestion"),
        Command::DeletePolicy {
            entity: EntityRef::Table(t("MyTable")),
            policy: PolicyKind::StreamingIngestion
        }
    );
    assert_eq!(
        ok(".show database Db policy ingestionbatching"),
        Command::ShowPolicy {
            target: PolicyShowTarget::Database("Db".into()),
            policy: PolicyKind::IngestionBatching
        }
    );
}

#[test]
fn principals() {
    assert_eq!(
        ok(
            ".add database Test users ('aadapp=4c7e82bd;fabrikam.com', 'aaduser=a@b.com') 'Test app'"
        ),
        Command::Principals {
            action: PrincipalAction::Add,
            scope: RoleScope::Database("Test".into(), DatabaseRole::Users),
            principals: vec![
                "aadapp=4c7e82bd;fabrikam.com".into(),
                "aaduser=a@b.com".into()
            ],
            skip_results: false,
            notes: Some("Test app".into()),
        }
    );
    assert_eq!(
        ok(".set database Samples viewers none skip-results"),
        Command::Principals {
            action: PrincipalAction::Set,
            scope: RoleScope::Database("Samples".into(), DatabaseRole::Viewers),
            principals: vec![],
            skip_results: true,
            notes: None,
        }
    );
    assert!(matches!(
        ok(".drop table StormEvents admins ('aadGroup=SomeGroupEmail@fabrikam.com')"),
        Command::Principals {
            action: PrincipalAction::Drop,
            scope: RoleScope::Table(_, TableRole::Admins),
            ..
        }
    ));
    assert!(matches!(
        ok(".drop database Db ingestors ('aaduser=x@y')"),
        Command::Principals {
            action: PrincipalAction::Drop,
            scope: RoleScope::Database(_, DatabaseRole::Ingestors),
            ..
        }
    ));
    assert_eq!(
        ok(".show database Samples principals"),
        Command::ShowDatabasePrincipals {
            database: "Samples".into()
        }
    );
    assert_eq!(
        ok(".show table T principals"),
        Command::ShowTablePrincipals { table: t("T") }
    );
}

#[test]
fn shows() {
    assert_eq!(ok(".show version"), Command::ShowVersion);
    assert_eq!(
        ok("  // comment\n.show databases\n"),
        Command::ShowDatabases
    );
    assert_eq!(
        ok(".show database TestDB schema as json"),
        Command::ShowDatabaseSchemaJson {
            database: "TestDB".into()
        }
    );
}

#[test]
fn execute_script_splits_commands_by_line() {
    let csl = ".execute database script with (ContinueOnErrors=true)\n<|\n//\n// Create tables\n.create-merge table T(a:string, b:string)\n// mapping spans lines\n.create table T ingestion json mapping 'm'\n'['\n'{\"column\":\"a\"}'\n']'\n\n.show version\n";
    let Command::ExecuteScript {
        continue_on_errors,
        throw_on_errors,
        commands,
    } = ok(csl)
    else {
        panic!("expected ExecuteScript");
    };
    assert!(continue_on_errors);
    assert!(!throw_on_errors);
    let texts: Vec<&str> = commands.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            ".create-merge table T(a:string, b:string)",
            ".create table T ingestion json mapping 'm'\n'['\n'{\"column\":\"a\"}'\n']'",
            ".show version",
        ]
    );
    assert_eq!(commands[2].command, Command::ShowVersion);
    assert_eq!(commands[0].command.command_type(), "TableCreate");
}

#[test]
fn execute_script_default_and_single_line() {
    let Command::ExecuteScript {
        continue_on_errors,
        commands,
        ..
    } = ok(".execute database script <| .drop table T ifexists")
    else {
        panic!("expected ExecuteScript");
    };
    assert!(!continue_on_errors);
    assert_eq!(commands.len(), 1);
}

#[test]
fn execute_script_rejects_any_bad_command_up_front() {
    assert_eq!(
        err(".execute database script <|\n.create table T (a:int)\n.frobnicate table T"),
        "Syntax error: SYN0002: unknown or unsupported control command '.frobnicate' [line:position=3:0]"
    );
    assert_eq!(
        err(".execute database script with (Bogus=true) <| .show version"),
        "Syntax error: SYN0002: unknown script property 'Bogus' [line:position=1:25]"
    );
    assert_eq!(
        err(".execute database script <|"),
        "Syntax error: SYN0002: expected at least one command after '<|' but found end of command [line:position=1:27]"
    );
}

#[test]
fn syntax_errors_are_precise() {
    assert_eq!(
        err(".frobnicate table T"),
        "Syntax error: SYN0002: unknown or unsupported control command '.frobnicate' [line:position=1:0]"
    );
    assert_eq!(
        err(".create table T (a:integer)"),
        "Syntax error: SYN0002: unknown column type 'integer' [line:position=1:19]"
    );
    assert_eq!(
        err(".create table T (a:int) extra"),
        "Syntax error: SYN0002: unexpected 'extra' after the end of the command [line:position=1:24]"
    );
    assert_eq!(
        err(".create tabel T (a:int)"),
        "Syntax error: SYN0002: expected one of 'table', 'database' but found 'tabel' [line:position=1:8]"
    );
    assert_eq!(
        err("T | take 10"),
        "Syntax error: SYN0002: expected a control command starting with '.' but found 'T' [line:position=1:0]"
    );
    assert_eq!(
        err(""),
        "Syntax error: SYN0002: the command text is empty [line:position=1:0]"
    );
    assert_eq!(
        err(".show table T policy merge"),
        "Syntax error: SYN0002: expected one of 'ingestionbatching', 'streamingingestion', 'retention', 'caching', 'update' but found 'merge' [line:position=1:21]"
    );
    assert_eq!(
        err(".create table T (a:int)\n.create table U (b:int)"),
        "Syntax error: SYN0002: unexpected '.create' after the end of the command [line:position=2:0]"
    );
    assert_eq!(
        err(".alter table T policy ingestionbatching"),
        "Syntax error: SYN0002: expected a string literal but found end of command [line:position=1:39]"
    );
    assert_eq!(
        err(".add database Db admins ()"),
        "Syntax error: SYN0002: expected a string literal but found ')' [line:position=1:25]"
    );
    assert_eq!(
        err(".add database Db admins ('aaduser=x') 'unterminated"),
        "Syntax error: SYN0002: unterminated string literal [line:position=1:38]"
    );
}

#[test]
fn keywords_are_case_sensitive() {
    assert!(err(".show VERSION").contains("found 'VERSION'"));
    assert!(err(".Show version").contains("'.Show'"));
}

#[test]
fn schema_script_show_and_its_options() {
    assert_eq!(
        ok(".show database ['game db'] schema as csl script"),
        Command::ShowDatabaseSchemaScript {
            database: "game db".into(),
            options: SchemaScriptOptions::default(),
        }
    );
    assert_eq!(
        ok(
            ".show database Db schema as csl script with (includeSecuritySettings = FALSE, IncludeIngestionMappings=false, IncludeEncodingPolicies=true, ShowObfuscatedStrings=false)"
        ),
        Command::ShowDatabaseSchemaScript {
            database: "Db".into(),
            options: SchemaScriptOptions {
                include_encoding_policies: true,
                include_security_settings: false,
                include_ingestion_mappings: false,
            },
        }
    );
    assert_eq!(
        err(".show database Db schema as csl script with (Tables=true)"),
        "Syntax error: SYN0002: unknown schema script option 'Tables' [line:position=1:39]"
    );
    assert_eq!(
        err(".show database Db schema as yaml"),
        "Syntax error: SYN0002: expected one of 'json', 'csl' but found 'yaml' [line:position=1:28]"
    );
}

#[test]
fn show_extents_with_tag_filters() {
    assert_eq!(
        ok(".show table T extents"),
        Command::ShowExtents {
            table: t("T"),
            tags: vec![]
        }
    );
    assert_eq!(
        ok(".show table Db.T extents hot where tags has 'drop-by:x' and tags !contains \"b\""),
        Command::ShowExtents {
            table: TableRef {
                database: Some("Db".into()),
                table: "T".into()
            },
            tags: vec![
                TagFilter {
                    op: TagOp::Has,
                    tag: "drop-by:x".into()
                },
                TagFilter {
                    op: TagOp::NotContains,
                    tag: "b".into()
                },
            ]
        }
    );
    assert!(ok(".show table T extents").is_read_only());
    assert!(
        err(".show table T extents where tags == 'x'")
            .contains("expected one of 'has', 'contains'")
    );
}

#[test]
fn delete_records_keeps_its_predicate_query_verbatim() {
    let cmd = ok(".delete table MyTable records <| MyTable | where UserId == 'X'");
    assert_eq!(
        cmd,
        Command::DeleteRecords {
            table: t("MyTable"),
            what_if: false,
            predicate: "MyTable | where UserId == 'X'".into()
        }
    );
    assert_eq!(cmd.command_type(), "TableRecordsDelete");
    assert!(!cmd.is_read_only());
    assert_eq!(
        ok(".delete table MyTable records with (whatif=true) <| MyTable | where A == 1"),
        Command::DeleteRecords {
            table: t("MyTable"),
            what_if: true,
            predicate: "MyTable | where A == 1".into()
        }
    );
    // `.delete table T policy ...` is still the policy command.
    assert!(matches!(
        ok(".delete table T policy ingestionbatching"),
        Command::DeletePolicy { .. }
    ));
    assert!(
        err(".delete table T records with (async=true) <| T | where A == 1")
            .contains("only 'whatif'")
    );
    assert!(err(".delete table T records <|").contains("a predicate query"));
}

#[test]
fn drop_extents_forms() {
    let by_tag = ok(".drop extents <| .show table T extents where tags has \"drop-by:2016-02-17\"");
    assert_eq!(
        by_tag,
        Command::DropExtents {
            table: t("T"),
            selection: ExtentSelection::Tags(vec![TagFilter {
                op: TagOp::Has,
                tag: "drop-by:2016-02-17".into()
            }]),
            what_if: false
        }
    );
    assert_eq!(by_tag.command_type(), "ExtentsDrop");
    assert_eq!(
        ok(".drop extents whatif <| .show table T extents"),
        Command::DropExtents {
            table: t("T"),
            selection: ExtentSelection::All,
            what_if: true
        }
    );
    assert_eq!(
        ok(
            ".drop extents (609ad1e2-5b1c-4b79-90c0-1dec262e9f46, '310A60C6-8529-4cdf-a309-fe6aa7857e1d') from Table1"
        ),
        Command::DropExtents {
            table: t("Table1"),
            selection: ExtentSelection::Ids(vec![
                "609ad1e2-5b1c-4b79-90c0-1dec262e9f46".into(),
                "310a60c6-8529-4cdf-a309-fe6aa7857e1d".into()
            ]),
            what_if: false
        }
    );
    assert_eq!(
        ok(".drop extent 609ad1e2-5b1c-4b79-90c0-1dec262e9f46 from Table1"),
        Command::DropExtents {
            table: t("Table1"),
            selection: ExtentSelection::Ids(vec!["609ad1e2-5b1c-4b79-90c0-1dec262e9f46".into()]),
            what_if: false
        }
    );
    assert_eq!(
        ok(".drop extents from TestTable"),
        Command::DropExtents {
            table: t("TestTable"),
            selection: ExtentSelection::All,
            what_if: false
        }
    );
    assert!(err(".drop extents <| .show tables").contains("must be '.show table T extents"));
    assert!(err(".drop extents (abc) from T").contains("an extent id"));
}

#[test]
fn ingest_inline_keeps_its_data_verbatim() {
    let cmd = ok(
        ".ingest inline into table Purchases with (format='csv', tags='[\"drop-by:x\"]') <|\n    Shoes,1000\n    \"Coats with \"\"quotes\"\"\",5 // not a comment\n",
    );
    assert_eq!(
        cmd,
        Command::IngestInline {
            table: t("Purchases"),
            properties: vec![
                Property::text("format", "csv"),
                Property::text("tags", "[\"drop-by:x\"]"),
            ],
            data: "\n    Shoes,1000\n    \"Coats with \"\"quotes\"\"\",5 // not a comment\n".into()
        }
    );
    assert!(!cmd.is_read_only());
    // Data with characters the lexer would refuse is still taken as is.
    assert!(matches!(
        ok(".ingest inline into table T <| a;b,'unterminated,#~"),
        Command::IngestInline { data, .. } if data == " a;b,'unterminated,#~"
    ));
    assert!(
        err(".execute database script <|\n.ingest inline into table T <| 1,2")
            .contains("not inside a script")
    );
}

/// Retention and caching in the property forms the service's schema script and docs use are
/// read as the policy JSON the service reports; bad literals are precise errors.
#[test]
fn retention_and_caching_properties_read_as_policy_json() {
    let json = |csl: &str| match ok(csl) {
        Command::AlterPolicy { policy, value, .. } => (policy, value.to_json().into_owned()),
        other => panic!("{csl}: {other:?}"),
    };
    assert_eq!(
        json(".alter-merge table T policy retention softdelete = 365d recoverability = disabled"),
        (
            PolicyKind::Retention,
            r#"{"SoftDeletePeriod":"365.00:00:00","Recoverability":"Disabled"}"#.to_string()
        )
    );
    assert_eq!(
        json(".alter-merge database Db policy retention softdelete = 12h"),
        (
            PolicyKind::Retention,
            r#"{"SoftDeletePeriod":"12:00:00"}"#.to_string()
        )
    );
    assert_eq!(
        json(".alter table T policy caching hot = 7d"),
        (
            PolicyKind::Caching,
            r#"{"DataHotSpan":{"Value":"7.00:00:00"},"IndexHotSpan":{"Value":"7.00:00:00"}}"#
                .to_string()
        )
    );
    assert_eq!(
        json(".alter database Db policy caching hotdata = 3d hotindex = time(1.00:00:00)"),
        (
            PolicyKind::Caching,
            r#"{"DataHotSpan":{"Value":"3.00:00:00"},"IndexHotSpan":{"Value":"1.00:00:00"}}"#
                .to_string()
        )
    );
    assert_eq!(
        json(
            ".alter table T policy caching hot = 30d,\n hot_window = datetime(2021-01-01) .. datetime(2021-02-01 12:00),\n hot_window = datetime(2021-04-01T00:00:00Z)..datetime(2021-05-01)"
        ),
        (
            PolicyKind::Caching,
            r#"{"DataHotSpan":{"Value":"30.00:00:00"},"IndexHotSpan":{"Value":"30.00:00:00"},"HotWindows":[{"MinValue":"2021-01-01T00:00:00Z","MaxValue":"2021-02-01T12:00:00Z"},{"MinValue":"2021-04-01T00:00:00Z","MaxValue":"2021-05-01T00:00:00Z"}]}"#
                .to_string()
        )
    );
    assert_eq!(
        json(r#".alter table T policy retention '{"SoftDeletePeriod":"1.00:00:00"}'"#).1,
        r#"{"SoftDeletePeriod":"1.00:00:00"}"#
    );
    assert_eq!(
        err(".alter table T policy caching hot = soon"),
        "Syntax error: SYN0002: expected a timespan literal such as 7d [line:position=1:36]"
    );
    assert_eq!(
        err(
            ".alter table T policy caching hot = 7d, hot_window = datetime(2021-13-01) .. datetime(2022-01-01)"
        ),
        "Syntax error: SYN0002: invalid datetime literal '2021-13-01' [line:position=1:53]"
    );
    // `date(...)` after a dot stays a name, not a literal.
    assert!(matches!(
        ok(".create table Db.date (a:int)"),
        Command::TableSchema { .. }
    ));
}

#[test]
fn rename_table_and_rename_tables() {
    assert_eq!(
        ok(".rename table ['a b'] to kustoplan_lease_x"),
        Command::RenameTable {
            from: "a b".into(),
            to: "kustoplan_lease_x".into(),
        }
    );
    assert_eq!(
        ok(".rename tables A=A_TEMP, NEWB=B ifexists, A_TEMP = A"),
        Command::RenameTables {
            renames: vec![
                TableRename {
                    to: "A".into(),
                    from: "A_TEMP".into(),
                    if_exists: false,
                },
                TableRename {
                    to: "NEWB".into(),
                    from: "B".into(),
                    if_exists: true,
                },
                TableRename {
                    to: "A_TEMP".into(),
                    from: "A".into(),
                    if_exists: false,
                },
            ],
        }
    );
    assert_eq!(
        err(".rename table Db.A to B"),
        "Syntax error: SYN0002: expected 'to' but found '.' [line:position=1:16]"
    );
    assert_eq!(
        err(".rename table A B"),
        "Syntax error: SYN0002: expected 'to' but found 'B' [line:position=1:16]"
    );
    assert_eq!(
        err(".rename tables A=B,"),
        "Syntax error: SYN0002: expected a name but found end of command [line:position=1:19]"
    );
    assert_eq!(
        err(".rename function F to G"),
        "Syntax error: SYN0002: expected one of 'table', 'tables', 'column', 'materialized-view' but found 'function' [line:position=1:8]"
    );
    assert_eq!(ok(".rename table A to B").command_type(), "TableRename");
    assert_eq!(ok(".rename tables B=A").command_type(), "TablesRename");
    assert!(!ok(".rename table A to B").is_read_only());
}

#[test]
fn rename_column() {
    let column =
        |database: Option<&str>, table: &str, from: &str, to: &str| Command::RenameColumn {
            table: TableRef {
                database: database.map(Into::into),
                table: table.into(),
            },
            from: from.into(),
            to: to.into(),
        };
    assert_eq!(
        ok(".rename column GamePlay.Score to Points"),
        column(None, "GamePlay", "Score", "Points")
    );
    assert_eq!(
        ok(".rename column ['game db'].['Game Play'].['old x'] to ['new x']"),
        column(Some("game db"), "Game Play", "old x", "new x")
    );
    assert_eq!(
        err(".rename column Score to Points"),
        "Syntax error: SYN0002: expected [Database.]Table.Column [line:position=1:15]"
    );
    assert_eq!(
        err(".rename column T.a to x.b"),
        "Syntax error: SYN0002: unexpected '.' after the end of the command [line:position=1:23]"
    );
    let cmd = ok(".rename column T.a to b");
    assert_eq!(cmd.command_type(), "ColumnRename");
    assert!(!cmd.is_read_only());
}

#[test]
fn queued_ingestion_commands() {
    assert_eq!(
        ok(".get ingestion resources"),
        Command::GetIngestionResources
    );
    assert_eq!(
        ok("  .get kusto identity token  "),
        Command::GetKustoIdentityToken
    );
    assert_eq!(
        ok(".show ingestion failures"),
        Command::ShowIngestionFailures
    );
    for read in [
        Command::GetIngestionResources,
        Command::GetKustoIdentityToken,
        Command::ShowIngestionFailures,
    ] {
        assert!(read.is_read_only(), "{read:?}");
    }
    assert!(err(".get ingestion queues").contains("'resources'"));
    assert!(err(".get kusto identity").contains("'token'"));
    assert!(err(".show ingestion failures now").contains("after the end"));
}

#[test]
fn functions_parse_with_their_body_verbatim() {
    let csl = ".create-or-alter function with (folder = 'Helpers', docstring = \"Recent\", skipvalidation = \"true\") ['Recent Plays'](since:time, n: int64) {\n    GamePlay // }\n    | where s == '}' and EventTime > ago(since)\n    | take n\n}";
    assert_eq!(
        ok(csl),
        Command::CreateOrAlterFunction {
            name: "Recent Plays".into(),
            parameters: vec![
                col("since", ColumnType::Timespan),
                col("n", ColumnType::Long)
            ],
            body: "\n    GamePlay // }\n    | where s == '}' and EventTime > ago(since)\n    | take n\n"
                .into(),
            properties: vec![
                Property::text("folder", "Helpers"),
                Property::text("docstring", "Recent"),
                Property::text("skipvalidation", "true"),
            ],
        }
    );
    assert_eq!(
        ok(".create-or-alter function F() { print 1 }"),
        Command::CreateOrAlterFunction {
            name: "F".into(),
            parameters: Vec::new(),
            body: " print 1 ".into(),
            properties: Vec::new(),
        }
    );
    assert_eq!(
        ok(".drop function F ifexists"),
        Command::DropFunction {
            name: "F".into(),
            if_exists: true
        }
    );
    assert_eq!(ok(".show functions"), Command::ShowFunctions);
    assert_eq!(
        ok(".show function ['a b']"),
        Command::ShowFunction { name: "a b".into() }
    );
    assert_eq!(
        ok(".create-or-alter function F() { print 1 }").command_type(),
        "FunctionCreateOrAlter"
    );
}

#[test]
fn bad_function_commands_are_syntax_errors() {
    assert_eq!(
        err(".create-or-alter function F() { print 1"),
        "Syntax error: SYN0002: expected '}' to close the block [line:position=1:30]"
    );
    assert_eq!(
        err(".create-or-alter function F() {\n  .drop table T\n}"),
        "Syntax error: SYN0002: expected '}' to close the block [line:position=1:30]"
    );
    assert_eq!(
        err(".create-or-alter function F(T:(*)) { T }"),
        "Syntax error: SYN0002: tabular function parameters are not supported by the sandbox [line:position=1:30]"
    );
    assert_eq!(
        err(".create-or-alter function F(n:long = 5) { print n }"),
        "Syntax error: SYN0002: default parameter values are not supported by the sandbox [line:position=1:35]"
    );
    assert_eq!(
        err(".create-or-alter function F() print 1"),
        "Syntax error: SYN0002: expected '{' to open the function body but found 'print' [line:position=1:30]"
    );
    assert_eq!(
        err(".create-or-alter function F() { print 1 } x"),
        "Syntax error: SYN0002: unexpected 'x' after the end of the command [line:position=1:42]"
    );
}

#[test]
fn a_multi_line_function_is_one_command_of_a_script() {
    let csl = ".execute database script <|\n.create-merge table T (a:int)\n.create-or-alter function F() {\nT\n| where a > 1 // .not a command\n| take 1\n}\n.drop function G ifexists";
    let Command::ExecuteScript { commands, .. } = ok(csl) else {
        panic!("expected ExecuteScript");
    };
    let types: Vec<&str> = commands.iter().map(|c| c.command.command_type()).collect();
    assert_eq!(
        types,
        ["TableCreate", "FunctionCreateOrAlter", "FunctionDrop"]
    );
    assert_eq!(
        commands[1].text,
        ".create-or-alter function F() {\nT\n| where a > 1 // .not a command\n| take 1\n}"
    );
}

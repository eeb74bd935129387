//! Every kind of command `kusto::render` produces, awkward names included, must be accepted by
//! Microsoft's own Kusto parser (Kusto.Language via `tests/kusto_parser/check.mjs`) as exactly
//! one command of the intended kind. Needs Node.js; skipped loudly without it, except in CI.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use kustoplan::kusto::command::{DatabaseRole, PolicyKind, TableRole};
use kustoplan::kusto::render::{self, PolicyScope, RoleScope};
use kustoplan::model::{
    BatchingPolicy, CachingPolicy, ColumnType, HotWindow, MappingKind, PrincipalKind, PrincipalRef,
    RetentionPolicy, Timespan, UpdatePolicy,
};
use serde_json::{Value, json};

fn parser_dir() -> PathBuf {
    common::repo().join("tests").join("kusto_parser")
}

/// Node plus the pinned parser package; `None` when the test should skip.
fn checker(test: &str) -> Option<PathBuf> {
    common::npm::pinned_packages(&parser_dir(), test).then(|| parser_dir().join("check.mjs"))
}

/// One input line for check.mjs: the command and the kind Microsoft's parser must see.
fn line(command: String, kind: &str) -> String {
    let parser_form = as_the_parser_knows(&command);
    let kind = if parser_form == command {
        kind
    } else {
        "AlterTablesPolicyCaching"
    };
    json!({ "command": parser_form, "kind": kind }).to_string()
}

/// One input line for check.mjs with any command kind.
fn any_kind(command: String) -> String {
    json!({ "command": as_the_parser_knows(&command) }).to_string()
}

/// The pinned Kusto.Language (12.4.1) knows `hot_window` only in `.alter tables (...) policy
/// caching` (and for follower databases), not in `.alter table|database X policy caching`,
/// where the service documents it: it rejects the example of
/// management-alter-database-cache-policy-command.md itself (pinned by
/// `the_pinned_parser_lacks_hot_windows_on_single_entities`). Lines of that shape are checked
/// in the `.alter tables (X)` form, whose windows the parser reads with the same grammar.
fn as_the_parser_knows(command: &str) -> String {
    command
        .split('\n')
        .map(|l| {
            let windowed = l.contains(" policy caching hot = ") && l.contains(", hot_window = ");
            let entity = l
                .strip_prefix(".alter table ")
                .or_else(|| l.strip_prefix(".alter database "));
            match (
                windowed,
                entity.and_then(|rest| rest.split_once(" policy caching ")),
            ) {
                (true, Some((name, properties))) => {
                    format!(".alter tables ({name}) policy caching {properties}")
                }
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// While Microsoft's parser rejects the documented hot-window syntax on a single table or
/// database, [`as_the_parser_knows`] is needed; once a new version accepts it, this fails and
/// the workaround goes.
#[test]
fn the_pinned_parser_lacks_hot_windows_on_single_entities() {
    let Some(script) = checker("the_pinned_parser_lacks_hot_windows_on_single_entities") else {
        return;
    };
    let documented = ".alter database MyDatabase policy caching hot = 30d, hot_window = datetime(2021-01-01) .. datetime(2021-02-01), hot_window = datetime(2021-04-01) .. datetime(2021-05-01)";
    let (ok, output) = check(&script, &[json!({ "command": documented }).to_string()]);
    assert!(!ok && output.contains("SkippedTokens"), "{output}");
    let (ok, output) = check(&script, &[any_kind(documented.to_string())]);
    assert!(ok, "{output}");
}

/// Runs check.mjs on `lines`; returns whether it passed and its output.
fn check(script: &Path, lines: &[String]) -> (bool, String) {
    let (_dir, input) = common::write_lines(lines);
    let out = common::run(Command::new("node").arg(script).arg(&input));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// [`check`] on two halves at once: Kusto.Language in JavaScript needs ~0.1 s per command,
/// and the machines have two cores.
fn check_in_parallel(script: &Path, lines: &[String]) -> Vec<(bool, String)> {
    let half = lines.len().div_ceil(2);
    std::thread::scope(|scope| {
        let jobs: Vec<_> = lines
            .chunks(half.max(1))
            .map(|chunk| scope.spawn(move || check(script, chunk)))
            .collect();
        jobs.into_iter()
            .map(|job| job.join().expect("check thread"))
            .collect()
    })
}

/// Table names covering every quoting case: plain, space/dot/dash/non-ASCII, keyword, and the
/// characters that need escaping inside `['...']`.
const TABLES: [&str; 4] = ["GamePlay", "Zeit ü-1.v2", "table", r"it's a \ name"];

/// Function bodies that must stay one block: literals and comments holding braces, `let`
/// statements, verbatim and multi-line literals, CRLF line endings, no trailing newline.
const BODIES: [&str; 4] = [
    "GamePlay\n| where EventTime > ago(since) // only recent }\n| summarize count() by PlayerID",
    "let threshold = 10;\nprint x = '}', y = @'{ \\ ''quoted'' }', d = dynamic({\"a\": [1, 2]})\n| where x != \"{\"",
    "  range i from 1 to n step 1\r\n  | extend s = ```multi\n}line```\r\n",
    "print 1",
];

/// Scalar parameters covering every type and awkward names.
const PARAMETERS: [(&str, ColumnType); 3] = [
    ("since", ColumnType::Timespan),
    ("n", ColumnType::Long),
    ("ok_1", ColumnType::Bool),
];

const COLUMNS: [(&str, ColumnType); 10] = [
    ("Id", ColumnType::Long),
    ("player name", ColumnType::String),
    ("score.v2-final", ColumnType::Real),
    ("table", ColumnType::Dynamic),
    ("string", ColumnType::Guid),
    ("ok", ColumnType::Bool),
    ("at", ColumnType::DateTime),
    ("n", ColumnType::Int),
    ("dur", ColumnType::Timespan),
    ("price", ColumnType::Decimal),
];

fn mapping() -> Value {
    json!([
        {"column": "Id", "Properties": {"Path": "$.id"}},
        {"column": "player name", "datatype": "string", "Properties": {"Path": "$['player \"x\" name']"}},
        {"column": "score.v2-final", "Properties": {"Path": "$.score\\v2"}}
    ])
}

/// A representative set of every command kind, with the kind Kusto.Language must report:
/// every table-level command for each awkward table name, every column type, mapping kind and
/// role at least once. (Kusto.Language in JavaScript takes ~0.1 s per command, so the set
/// enumerates each dimension once rather than their product.)
fn representative() -> Vec<(String, &'static str)> {
    let policy = BatchingPolicy {
        max_time: Timespan::from_secs(10),
        max_items: 100,
        max_raw_size_mb: 256,
    };
    let principals = [
        PrincipalRef::new(PrincipalKind::App, "0000-app", Some("72f988bf-tenant")),
        PrincipalRef::new(PrincipalKind::User, "jane@contoso.com", None),
        PrincipalRef::new(PrincipalKind::Group, "ops", Some("contoso.com")),
    ];
    let mut out = Vec::new();
    for table in TABLES {
        let scope = PolicyScope::Table(table);
        out.extend([
            (render::create_table(table, &COLUMNS), "CreateTable"),
            (
                render::create_merge_table(table, &COLUMNS),
                "CreateMergeTable",
            ),
            (
                render::create_merge_table_with(
                    table,
                    &COLUMNS,
                    "kustoplan/it's",
                    "managed by \"kustoplan\"\\prod\nline 2",
                ),
                "CreateMergeTable",
            ),
            (
                render::alter_merge_table(table, &COLUMNS[..2]).to_string(),
                "AlterMergeTable",
            ),
            (
                render::alter_column_type(table, "player name", ColumnType::Long).to_string(),
                "AlterColumnType",
            ),
            (
                render::drop_column(table, "table").to_string(),
                "DropColumn",
            ),
            (render::drop_table(table).to_string(), "DropTable"),
            (
                render::rename_table(table, "kustoplan_lease_gameplay").to_string(),
                "RenameTable",
            ),
            (
                render::rename_column(table, "player name", "table").to_string(),
                "RenameColumn",
            ),
            (
                render::rename_column(table, "PlayerID", "Player ID 2").to_string(),
                "RenameColumn",
            ),
            (
                render::show_table_schema_json(table),
                "ShowTableSchemaAsJson",
            ),
            (
                render::alter_table_docstring(
                    table,
                    "managed by \"kustoplan\"\\prod\nline 2\ttab\u{1}",
                )
                .to_string(),
                "AlterTableDocString",
            ),
            (
                render::alter_table_folder(table, "kustoplan/it's").to_string(),
                "AlterTableFolder",
            ),
            (
                render::create_or_alter_mapping(
                    table,
                    MappingKind::Json,
                    "map \"1\".v2-x",
                    &mapping(),
                )
                .to_string(),
                "CreateOrAlterTableIngestionMapping",
            ),
            (
                render::drop_mapping(table, MappingKind::Json, "map \"1\".v2-x").to_string(),
                "DropTableIngestionMapping",
            ),
            (
                render::alter_batching_policy(scope, &policy).to_string(),
                "AlterTablePolicyIngestionBatching",
            ),
            (
                render::delete_batching_policy(scope).to_string(),
                "DeleteTablePolicyIngestionBatching",
            ),
            (
                render::alter_streaming_policy(scope, true).to_string(),
                "AlterTablePolicyStreamingIngestion",
            ),
            (
                render::delete_streaming_policy(scope).to_string(),
                "DeleteTablePolicyStreamingIngestion",
            ),
            (
                render::show_batching_policy(scope),
                "ShowTablePolicyIngestionBatching",
            ),
            (
                render::show_streaming_policy(scope),
                "ShowTablePolicyStreamingIngestion",
            ),
            (
                render::alter_policy(
                    scope,
                    PolicyKind::StreamingIngestion,
                    &json!({"IsEnabled": true, "HintAllocatedRate": 2.5}),
                )
                .to_string(),
                "AlterTablePolicyStreamingIngestion",
            ),
            (
                render::add_principal_fqns(
                    RoleScope::Table(table, TableRole::Ingestors),
                    &["msauser=someone@live.com"],
                    None,
                )
                .to_string(),
                "AddTableRole",
            ),
            (
                render::add_principals(
                    RoleScope::Table(table, TableRole::Admins),
                    &principals,
                    Some("AAD \"App\""),
                )
                .to_string(),
                "AddTableRole",
            ),
            (
                render::drop_principals(
                    RoleScope::Table(table, TableRole::Ingestors),
                    &principals[..1],
                )
                .to_string(),
                "DropTableRole",
            ),
            (
                render::show_table_mappings(table),
                "ShowTableIngestionMappings",
            ),
            (render::show_table_principals(table), "ShowTablePrincipals"),
        ]);
    }
    for table in TABLES {
        let entries = [
            UpdatePolicy::new(TABLES[0], "ParseRaw()", true, true, false, None),
            UpdatePolicy::new(
                TABLES[2],
                "['table']\n| where ['player name'] != \"it's \\\"quoted\\\"\" // a comment\n| extend x = 1",
                false,
                false,
                true,
                Some("00000000-0000-0000-0000-0000000000aa"),
            ),
        ];
        out.extend([
            (
                render::alter_update_policy(table, &entries).to_string(),
                "AlterTablePolicyUpdate",
            ),
            (
                render::alter_update_policy(table, &[]).to_string(),
                "AlterTablePolicyUpdate",
            ),
            (
                render::delete_update_policy(table).to_string(),
                "DeleteTablePolicyUpdate",
            ),
        ]);
    }
    let table = TABLES[1];
    for (column, ty) in COLUMNS {
        out.push((
            render::alter_column_type(table, column, ty).to_string(),
            "AlterColumnType",
        ));
        out.push((render::drop_column(table, column).to_string(), "DropColumn"));
    }
    for kind in MappingKind::ALL {
        out.push((
            render::create_or_alter_mapping(table, kind, "m", &mapping()).to_string(),
            "CreateOrAlterTableIngestionMapping",
        ));
        out.push((
            render::drop_mapping(table, kind, "m").to_string(),
            "DropTableIngestionMapping",
        ));
    }
    for role in TableRole::ALL {
        let scope = RoleScope::Table(table, role);
        out.push((
            render::add_principals(scope, &principals, None).to_string(),
            "AddTableRole",
        ));
        out.push((
            render::drop_principals(scope, &principals).to_string(),
            "DropTableRole",
        ));
    }
    let retention = RetentionPolicy {
        soft_delete: Timespan::from_secs(90 * 86_400),
        recoverable: false,
    };
    let caching = CachingPolicy {
        hot: Timespan::from_secs(12 * 3600),
        hot_windows: vec![
            HotWindow {
                from: "2026-01-01T00:00:00Z".into(),
                to: "2026-02-01T00:00:00Z".into(),
            },
            HotWindow {
                from: "2026-03-01T06:30:00.5Z".into(),
                to: "2026-04-01T00:00:00Z".into(),
            },
        ],
    };
    for (scope, what) in [
        (PolicyScope::Table(TABLES[1]), "Table"),
        (PolicyScope::Database("game db-1.x"), "Database"),
    ] {
        out.extend([
            (
                render::alter_retention_policy(scope, &retention).to_string(),
                if what == "Table" {
                    "AlterTablePolicyRetention"
                } else {
                    "AlterDatabasePolicyRetention"
                },
            ),
            (
                render::alter_merge_retention_properties(scope, &retention),
                if what == "Table" {
                    "AlterMergeTablePolicyRetention"
                } else {
                    "AlterMergeDatabasePolicyRetention"
                },
            ),
            (
                render::delete_retention_policy(scope),
                if what == "Table" {
                    "DeleteTablePolicyRetention"
                } else {
                    "DeleteDatabasePolicyRetention"
                },
            ),
            (
                render::alter_caching_policy(scope, &caching).to_string(),
                if what == "Table" {
                    "AlterTablePolicyCaching"
                } else {
                    "AlterDatabasePolicyCaching"
                },
            ),
            (
                render::delete_caching_policy(scope).to_string(),
                if what == "Table" {
                    "DeleteTablePolicyCaching"
                } else {
                    "DeleteDatabasePolicyCaching"
                },
            ),
        ]);
    }
    for db in ["db", "game db-1.x"] {
        let scope = PolicyScope::Database(db);
        out.extend([
            (
                render::alter_batching_policy(scope, &BatchingPolicy::DEFAULTS).to_string(),
                "AlterDatabasePolicyIngestionBatching",
            ),
            (
                render::delete_batching_policy(scope).to_string(),
                "DeleteDatabasePolicyIngestionBatching",
            ),
            (
                render::alter_streaming_policy(scope, false).to_string(),
                "AlterDatabasePolicyStreamingIngestion",
            ),
            (
                render::delete_streaming_policy(scope).to_string(),
                "DeleteDatabasePolicyStreamingIngestion",
            ),
            (
                render::show_batching_policy(scope),
                "ShowDatabasePolicyIngestionBatching",
            ),
            (
                render::show_streaming_policy(scope),
                "ShowDatabasePolicyStreamingIngestion",
            ),
            (
                render::show_database_schema_json(db),
                "ShowDatabaseSchemaAsJson",
            ),
            (
                render::show_database_schema_script(db),
                "ShowDatabaseSchemaAsCslScript",
            ),
            (
                render::show_database_mappings(db),
                "ShowDatabaseIngestionMappings",
            ),
            (
                render::show_database_principals(db),
                "ShowDatabasePrincipals",
            ),
        ]);
    }
    out.push((render::show_databases(), "ShowClusterDatabases"));
    for role in DatabaseRole::ALL {
        let scope = RoleScope::Database("game db", role);
        out.push((
            render::add_principals(scope, &principals[..1], Some("AAD App")).to_string(),
            "AddDatabaseRole",
        ));
        out.push((
            render::drop_principals(scope, &principals).to_string(),
            "DropDatabaseRole",
        ));
    }
    out.push((
        render::show_tables_batching_policy(),
        "ShowTableStarPolicyIngestionBatching",
    ));
    for (i, name) in ["RecentPlays", "Zeit ü-1.v2", "function", r"it's a \ name"]
        .into_iter()
        .enumerate()
    {
        let body = BODIES[i % BODIES.len()];
        out.extend([
            (
                render::create_or_alter_function(
                    name,
                    &PARAMETERS,
                    body,
                    "kustoplan/it's",
                    "managed by \"kustoplan\"\\prod [kustoplan:x]",
                    i % 2 == 0,
                )
                .to_string(),
                "CreateOrAlterFunction",
            ),
            (
                render::create_or_alter_function(name, &PARAMETERS[..0], body, "", "", false)
                    .to_string(),
                "CreateOrAlterFunction",
            ),
            (render::drop_function(name).to_string(), "DropFunction"),
            (render::show_function(name), "ShowFunction"),
        ]);
    }
    out.push((render::show_functions(), "ShowFunctions"));
    // Materialized views: every create form (sync, async with backfill and every property,
    // over another view), in-place alters, metadata, drop, rename and the reads.
    let view = |name: &str, source: &str, backfill: bool| kustoplan::model::MaterializedView {
        name: name.to_string(),
        source: source.to_string(),
        query: format!(
            "{}\r\n| where Score > 0\n| summarize arg_max(EventTime, *) by PlayerID\n",
            render::quote_name(source)
        ),
        docstring: "latest \"play\"\\per player".to_string(),
        folder: "kustoplan/it's".to_string(),
        owner: Some("x".to_string()),
        lookback: Some(kustoplan::model::Timespan::from_secs(6 * 3600)),
        auto_update_schema: Some(backfill),
        backfill,
        renamed_from: None,
    };
    for (i, name) in ["LatestPlay", "Zeit ü-1.v2", r"it's a \ name"]
        .into_iter()
        .enumerate()
    {
        let full = view(name, "GamePlay", i % 2 == 0);
        let bare = kustoplan::model::MaterializedView {
            lookback: None,
            auto_update_schema: Some(false),
            docstring: String::new(),
            folder: String::new(),
            owner: None,
            ..view(name, "Raw Events", false)
        };
        let over = view(name, "DedupedPlays", true);
        out.extend([
            (
                render::create_materialized_view(&full, render::ViewSource::Table).to_string(),
                "CreateMaterializedView",
            ),
            (
                render::create_materialized_view(&bare, render::ViewSource::Table).to_string(),
                "CreateMaterializedView",
            ),
            (
                render::create_materialized_view(&over, render::ViewSource::MaterializedView)
                    .to_string(),
                "CreateMaterializedViewOverMaterializedView",
            ),
            (
                render::alter_materialized_view(&full, render::ViewSource::Table).to_string(),
                "AlterMaterializedView",
            ),
            (
                render::alter_materialized_view(&bare, render::ViewSource::Table).to_string(),
                "AlterMaterializedView",
            ),
            (
                render::alter_materialized_view(&over, render::ViewSource::MaterializedView)
                    .to_string(),
                "AlterMaterializedViewOverMaterializedView",
            ),
            (
                render::alter_materialized_view_docstring(name, &full.stored_docstring())
                    .to_string(),
                "AlterMaterializedViewDocString",
            ),
            (
                render::alter_materialized_view_folder(name, &full.folder).to_string(),
                "AlterMaterializedViewFolder",
            ),
            (
                render::drop_materialized_view(name).to_string(),
                "DropMaterializedView",
            ),
            (
                render::rename_materialized_view(name, "Renamed View").to_string(),
                "RenameMaterializedView",
            ),
        ]);
    }
    out.push((render::show_materialized_views(), "ShowMaterializedViews"));
    out.push((
        render::show_operation("12345678-9abc-def0-1234-56789abcdef0"),
        "ShowOperations",
    ));
    let mut script: Vec<String> = out
        .iter()
        .filter(|(c, _)| !c.starts_with(".show"))
        .take(20)
        .map(|(c, _)| c.clone())
        .collect();
    // Multi-line function commands between one-line ones: the script must still split into
    // exactly these commands.
    script.extend(
        out.iter()
            .filter(|(_, kind)| kind.ends_with("Function"))
            .take(6)
            .map(|(c, _)| c.clone()),
    );
    // verify's canary lookup and cleanup.
    for table in TABLES {
        for literal in [
            render::quote_string("kustoplan-canary-0f3c2a9e").to_string(),
            "-1000000123456".to_string(),
            "guid(12345678-9abc-def0-1234-56789abcdef0)".to_string(),
            "datetime(1901-03-04T05:06:07.1234567Z)".to_string(),
        ] {
            out.push((
                render::delete_records_where_equal(table, "Marker Col", &literal),
                "DeleteTableRecords",
            ));
        }
        out.push((
            render::drop_extents_tagged(table, "drop-by:kustoplan-canary-0f3c2a9e"),
            "DropExtents",
        ));
    }
    script.push(render::drop_table("GamePlay").to_string());
    out.push((
        render::execute_script(&script, false),
        "ExecuteDatabaseScript",
    ));
    out.push((
        render::execute_script(&script[..1], true),
        "ExecuteDatabaseScript",
    ));
    out
}

#[test]
fn microsoft_parser_accepts_every_rendered_command() {
    let Some(script) = checker("microsoft_parser_accepts_every_rendered_command") else {
        return;
    };
    let commands = representative();
    let lines: Vec<String> = commands
        .iter()
        .map(|(c, kind)| line(c.clone(), kind))
        .collect();
    let mut checked = 0;
    for (ok, output) in check_in_parallel(&script, &lines) {
        assert!(
            ok,
            "Microsoft's Kusto parser rejected rendered commands:\n{output}"
        );
        let passed = output
            .lines()
            .find_map(|l| {
                l.strip_prefix("kusto-parser: ")?
                    .strip_suffix(" passed, 0 failed")
            })
            .and_then(|n| n.parse::<usize>().ok());
        checked += passed.unwrap_or_else(|| panic!("no summary line:\n{output}"));
    }
    assert_eq!(checked, lines.len());
}

#[test]
fn the_check_catches_broken_commands() {
    let Some(script) = checker("the_check_catches_broken_commands") else {
        return;
    };
    let broken = [
        // Unknown command: the parser reports no error for it by itself.
        json!(".frobnicate table T").to_string(),
        // Trailing text after a complete command.
        json!(".drop table T ifexists please").to_string(),
        // Two commands where one is expected.
        json!(".create table A (x:int)\n.create table B (x:int)").to_string(),
        // A type name as a bare column name.
        json!(".create table T (string:string)").to_string(),
        // Invalid JSON inside the policy literal.
        json!(".alter table T policy ingestionbatching \"{\\\"MaximumNumberOfItems\\\":}\"")
            .to_string(),
        // A mapping that is not a JSON array.
        json!(".create-or-alter table T ingestion json mapping \"m\" \"{}\"").to_string(),
        // Without the database name this is another command (DESIGN.md).
        line(
            ".drop database admins (\"aadapp=x\")".to_string(),
            "DropDatabaseRole",
        ),
        // Right syntax, wrong kind.
        line(
            ".show database db principals".to_string(),
            "ShowTablePrincipals",
        ),
        // Unterminated string literal.
        json!(".alter table T docstring \"oops").to_string(),
        // A body line starting with `.` starts another command (manifest validation rejects
        // such bodies; the sandbox's lexer cuts the block there too).
        json!(".create-or-alter function F() {\nT\n  .drop table T\n}").to_string(),
        // A `}` inside the body ends the function early.
        json!(".create-or-alter function F() {\nT } | take 1\n}").to_string(),
    ];
    let (ok, output) = check(&script, &broken);
    assert!(!ok, "check.mjs accepted broken commands:\n{output}");
    for n in 1..=broken.len() {
        assert!(
            output.contains(&format!("FAIL line {n}: ")),
            "line {n} ({}) was not reported:\n{output}",
            broken[n - 1]
        );
    }
    assert!(
        output.contains(&format!("kusto-parser: 0 passed, {} failed", broken.len())),
        "{output}"
    );
}

/// Every command real plans emit: the two examples from empty, a data-loss change set (retype,
/// drops, pruning), the apply script that wraps them, and observe's bulk reads (all four, the
/// schema script read included).
fn plan_commands() -> Vec<String> {
    use kustoplan::manifest::{LoadOptions, desired, load};
    use kustoplan::model::kusto::{Column, KustoState};
    use kustoplan::plan::kusto::{DiffOptions, diff};
    let mut out = Vec::new();
    let mut states = Vec::new();
    for (dir, env) in [
        ("examples/gameplay", "local"),
        ("examples/telemetry", "dev"),
    ] {
        let options = LoadOptions {
            environment: Some(env.into()),
            vars: Vec::new(),
        };
        let m = load(&[dir.into()], &options).expect("example loads");
        states.push(desired::kusto_state(&m));
    }
    let options = DiffOptions {
        prune: true,
        owner: Some("gameplay".into()),
    };
    for want in &states {
        let changes = diff(want, &KustoState::default(), &options);
        let commands: Vec<String> = changes.iter().flat_map(|c| c.command_texts()).collect();
        out.push(kustoplan::kusto::render::execute_script(&commands, false));
        out.extend(commands);
        for db in want.databases.keys() {
            out.extend(kustoplan::kusto::observe::bulk_reads(db));
        }
    }
    let mut changed = states[0].clone();
    let db = changed.databases.get_mut("gamedb").expect("gamedb");
    let table = db.tables.get_mut("GamePlay").expect("GamePlay");
    table.columns[1].ty = ColumnType::String;
    table.columns.pop();
    table.columns.push(Column {
        name: "Level name".into(),
        ty: ColumnType::String,
    });
    table.mappings.clear();
    table.batching = None;
    table.streaming = Some(true);
    db.principals.clear();
    db.tables.insert("Old Table".into(), Default::default());
    db.functions.insert(
        "Old Function".into(),
        kustoplan::model::Function {
            name: "Old Function".into(),
            body: "print 1".into(),
            owner: Some("gameplay".into()),
            ..Default::default()
        },
    );
    let changes = diff(&states[0], &changed, &options);
    assert!(
        changes
            .iter()
            .any(|c| c.command_texts() == [render::drop_function("Old Function").to_string()]),
        "{changes:?}"
    );
    assert!(changes.len() >= 6, "{changes:?}");
    out.extend(changes.iter().flat_map(|c| c.command_texts()));

    // Renames: the table, one of its columns and a function, from their old names.
    let mut old_names = states[0].clone();
    let db = old_names.databases.get_mut("gamedb").expect("gamedb");
    let mut table = db.tables.remove("GamePlay").expect("GamePlay");
    table.name = "Game Play (old)".into();
    table.columns[3].name = "score-old".into();
    db.tables.insert(table.name.clone(), table);
    db.functions.insert(
        "Old Function".into(),
        kustoplan::model::Function {
            name: "Old Function".into(),
            body: "print 1".into(),
            owner: Some("gameplay".into()),
            ..Default::default()
        },
    );
    let mut renamed = states[0].clone();
    let db = renamed.databases.get_mut("gamedb").expect("gamedb");
    let table = db.tables.get_mut("GamePlay").expect("GamePlay");
    table.renamed_from = Some("Game Play (old)".into());
    table
        .renamed_columns
        .insert(table.columns[3].name.clone(), "score-old".into());
    db.functions.insert(
        "New Function".into(),
        kustoplan::model::Function {
            name: "New Function".into(),
            body: "print 1".into(),
            owner: Some("gameplay".into()),
            renamed_from: Some("Old Function".into()),
            ..Default::default()
        },
    );
    let changes = diff(&renamed, &old_names, &options);
    let commands: Vec<String> = changes.iter().flat_map(|c| c.command_texts()).collect();
    for expected in [
        render::rename_table("Game Play (old)", "GamePlay").to_string(),
        render::rename_column("GamePlay", "score-old", "Score").to_string(),
        render::drop_function("Old Function").to_string(),
    ] {
        assert!(commands.contains(&expected), "{expected} in {commands:?}");
    }
    out.push(kustoplan::kusto::render::execute_script(&commands, false));
    out.extend(commands);
    out
}

#[test]
fn microsoft_parser_accepts_every_command_real_plans_emit() {
    let Some(script) = checker("microsoft_parser_accepts_every_command_real_plans_emit") else {
        return;
    };
    let lines: Vec<String> = plan_commands().into_iter().map(any_kind).collect();
    for (ok, output) in check_in_parallel(&script, &lines) {
        assert!(
            ok,
            "Microsoft's Kusto parser rejected plan commands:\n{output}"
        );
    }
}

/// Every row of the sandbox's `.show database DB schema as csl script` for a database holding
/// every kind of object it scripts, with awkward names: each row must be exactly one valid
/// command, so the sandbox's script reads like the service's.
fn sandbox_script_rows() -> Vec<String> {
    use kustoplan::sandbox::kusto::{Caller, KustoSandbox};
    let db = "game db-1.x";
    let sandbox = KustoSandbox::in_memory(&[db.to_string()]).expect("sandbox");
    let caller = Caller::cluster_admin("aaduser=test");
    let run = |csl: &str| {
        sandbox
            .execute(db, csl, &caller)
            .unwrap_or_else(|e| panic!("{csl}: {e}"))
    };
    let policy = BatchingPolicy {
        max_time: Timespan::from_secs(10),
        max_items: 100,
        max_raw_size_mb: 256,
    };
    let principals = [
        PrincipalRef::new(PrincipalKind::App, "0000-app", Some("72f988bf-tenant")),
        PrincipalRef::new(PrincipalKind::User, "jane@contoso.com", None),
        PrincipalRef::new(PrincipalKind::Group, "ops", Some("contoso.com")),
    ];
    // Names Kusto accepts for tables (the last of TABLES only tests quoting).
    let tables = &TABLES[..3];
    for (i, &table) in tables.iter().enumerate() {
        run(&render::create_table(table, &COLUMNS));
        if i % 2 == 0 {
            run(&render::alter_table_folder(table, "kustoplan/it's").to_string());
            run(&render::alter_table_docstring(
                table,
                "managed by \"kustoplan\"\\prod [kustoplan:x]",
            )
            .to_string());
        }
        run(
            &render::create_or_alter_mapping(table, MappingKind::Json, "map_1.v2-x", &mapping())
                .to_string(),
        );
        run(&render::alter_batching_policy(PolicyScope::Table(table), &policy).to_string());
        run(&render::alter_streaming_policy(PolicyScope::Table(table), i % 2 == 1).to_string());
        run(&render::alter_retention_policy(
            PolicyScope::Table(table),
            &RetentionPolicy {
                soft_delete: Timespan::from_secs(90 * 86_400),
                recoverable: i % 2 == 0,
            },
        )
        .to_string());
        run(&render::alter_caching_policy(
            PolicyScope::Table(table),
            &CachingPolicy {
                hot: Timespan::from_secs(3600),
                hot_windows: vec![HotWindow {
                    from: "2026-01-01T00:00:00Z".into(),
                    to: "2026-02-01T00:00:00Z".into(),
                }],
            },
        )
        .to_string());
        for role in TableRole::ALL {
            run(&render::add_principals(
                RoleScope::Table(table, role),
                &principals,
                Some("AAD \"App\""),
            )
            .to_string());
        }
    }
    run(&render::alter_batching_policy(PolicyScope::Database(db), &policy).to_string());
    run(&render::alter_streaming_policy(PolicyScope::Database(db), true).to_string());
    run(&render::alter_retention_policy(
        PolicyScope::Database(db),
        &RetentionPolicy {
            soft_delete: Timespan::from_secs(3650 * 86_400),
            recoverable: true,
        },
    )
    .to_string());
    run(&render::alter_caching_policy(
        PolicyScope::Database(db),
        &CachingPolicy {
            hot: Timespan::from_secs(31 * 86_400),
            hot_windows: Vec::new(),
        },
    )
    .to_string());
    for role in DatabaseRole::ALL {
        run(
            &render::add_principals(RoleScope::Database(db, role), &principals[..1], None)
                .to_string(),
        );
    }
    // The source has the target's columns: the query is the source table itself.
    run(&render::alter_update_policy(
        tables[1],
        &[UpdatePolicy::new(
            tables[0],
            &render::quote_name(tables[0]).to_string(),
            true,
            true,
            false,
            Some("system"),
        )],
    )
    .to_string());
    run(&render::add_principal_fqns(
        RoleScope::Database(db, DatabaseRole::Viewers),
        &["msauser=someone@live.com"],
        Some("MSA"),
    )
    .to_string());
    for (i, body) in BODIES.iter().enumerate() {
        run(&render::create_or_alter_function(
            &format!("{} f{i}", tables[i % tables.len()]),
            &PARAMETERS[..i % 3],
            body,
            if i % 2 == 0 { "kustoplan/it's" } else { "" },
            "managed by \"kustoplan\"\\prod [kustoplan:x]",
            true,
        )
        .to_string());
    }
    let response = run(&format!(
        ".show database {} schema as csl script",
        render::quote_name(db)
    ));
    let rows: Vec<String> = response
        .primary()
        .expect("result")
        .value_rows()
        .map(|row| row[0].as_str().expect("text").to_string())
        .collect();
    let starts = |prefix: &str| rows.iter().filter(|r| r.starts_with(prefix)).count();
    assert_eq!(starts(".create-merge table "), tables.len());
    assert_eq!(starts(".create-or-alter table "), tables.len());
    assert_eq!(starts(".create-or-alter function "), BODIES.len());
    assert_eq!(starts(".alter table "), 3 * tables.len() + 1);
    assert_eq!(starts(".alter-merge table "), tables.len());
    assert_eq!(starts(".alter database "), 3);
    assert_eq!(starts(".alter-merge database "), 1);
    assert_eq!(starts(".add database "), DatabaseRole::ALL.len() + 1);
    assert_eq!(
        starts(".add table "),
        3 * TableRole::ALL.len() * tables.len()
    );
    rows
}

#[test]
fn microsoft_parser_accepts_every_row_of_the_sandbox_schema_script() {
    let Some(script) = checker("microsoft_parser_accepts_every_row_of_the_sandbox_schema_script")
    else {
        return;
    };
    let lines: Vec<String> = sandbox_script_rows().into_iter().map(any_kind).collect();
    let mut checked = 0;
    for (ok, output) in check_in_parallel(&script, &lines) {
        assert!(
            ok,
            "Microsoft's Kusto parser rejected rows of the sandbox's schema script:\n{output}"
        );
        checked += output
            .lines()
            .find_map(|l| {
                l.strip_prefix("kusto-parser: ")?
                    .strip_suffix(" passed, 0 failed")
            })
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no summary line:\n{output}"));
    }
    assert_eq!(checked, lines.len());
}

/// One check_query.mjs line per update policy entry the manifests in `dir` declare: the
/// entry's query after `let` statements declaring every declared table (as an empty
/// `datatable` of its columns) and function, expected to return its table's columns.
fn update_policy_queries(dir: &str, env: &str) -> Vec<String> {
    use kustoplan::manifest::{LoadOptions, desired, load};
    let options = LoadOptions {
        environment: Some(env.into()),
        vars: Vec::new(),
    };
    let m = load(&[dir.into()], &options).expect("manifests load");
    let state = desired::kusto_state(&m);
    let mut out = Vec::new();
    for db in state.databases.values() {
        let mut prelude = String::new();
        for t in db.tables.values() {
            let columns: Vec<String> = t
                .columns
                .iter()
                .map(|c| format!("{}:{}", render::quote_name(&c.name), c.ty.as_kql()))
                .collect();
            prelude.push_str(&format!(
                "let {} = datatable({})[];\n",
                render::quote_name(&t.name),
                columns.join(", ")
            ));
        }
        for f in db.functions.values() {
            let parameters = f
                .scalar_parameters()
                .expect("declared functions are scalar");
            prelude.push_str(&render::let_function(&f.name, &parameters, &f.body));
            prelude.push('\n');
        }
        for t in db.tables.values() {
            for entry in t.update_policies.iter().flatten() {
                let columns: Vec<Value> = t
                    .columns
                    .iter()
                    .map(|c| json!([c.name, c.ty.as_kql()]))
                    .collect();
                out.push(
                    json!({
                        "label": format!("{}.{} from {}", db.name, t.name, entry.source),
                        "query": format!("{prelude}{}", entry.query),
                        "columns": columns,
                    })
                    .to_string(),
                );
            }
        }
    }
    out
}

#[test]
fn microsoft_analyzer_types_every_update_policy_query_as_its_table() {
    let Some(script) = checker("microsoft_analyzer_types_every_update_policy_query_as_its_table")
    else {
        return;
    };
    let script = script.with_file_name("check_query.mjs");
    let lines = update_policy_queries("examples/telemetry", "dev");
    assert_eq!(lines.len(), 1, "telemetry declares one update policy entry");
    let (ok, output) = check(&script, &lines);
    assert!(
        ok && output.contains("kusto-query: 1 passed, 0 failed"),
        "Microsoft's analyzer rejected update policy queries:\n{output}"
    );
    // The check bites: a query returning another type, or naming an unknown column, fails.
    let broken: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            [
                l.replace(
                    "Kind = tostring(Payload.kind)",
                    "Kind = tolong(Payload.kind)",
                ),
                l.replace("Payload.kind", "Missing.kind"),
            ]
        })
        .collect();
    assert!(broken.iter().all(|b| !lines.contains(b)), "the edits apply");
    let (ok, output) = check(&script, &broken);
    assert!(!ok, "{output}");
    assert!(
        output.contains(
            "returns (DeviceId:guid, Kind:long, OccurredAt:datetime, Details:dynamic), expected (DeviceId:guid, Kind:string, OccurredAt:datetime, Details:dynamic)"
        ) && output.contains("kusto-query: 0 passed, 2 failed"),
        "{output}"
    );
}

//! The printer and the parser agree: every generated command prints to text the parser reads
//! back to the same command. Names and literals are drawn from hostile alphabets (quotes,
//! backslashes, brackets, control characters, reserved words, non-ASCII) so that quoting,
//! not luck, keeps each command's meaning.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;
use crate::kusto::command::parse;
use crate::model::{ColumnType, MappingKind};

/// Entity names: plain identifiers, reserved words, and anything printable.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        prop::sample::select(vec![
            "table",
            "policy",
            "with",
            "ifexists",
            "admins",
            "ingestion",
            "docstring",
            "folder",
            "on",
            "to",
            "records",
            "none",
            "string",
            "datetime",
            "hot",
        ])
        .prop_map(str::to_string),
        "[ -~]{1,10}",
        "[a-zé ✓'\\\\\\]\\[]{1,6}",
    ]
}

/// String literal contents: any text, line breaks and control characters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "\\PC{0,8}",
        "[a\"'\\\\\n\r\t\u{1}\u{7f}é]{0,8}",
    ]
}

fn table() -> impl Strategy<Value = TableRef> {
    (option::of(name()), name()).prop_map(|(database, table)| TableRef { database, table })
}

/// A table of the request's database (the forms whose grammar takes no database).
fn local_table() -> impl Strategy<Value = TableRef> {
    name().prop_map(|table| TableRef {
        database: None,
        table,
    })
}

fn column_type() -> impl Strategy<Value = ColumnType> {
    prop::sample::select(ColumnType::ALL.to_vec())
}

fn mapping_kind() -> impl Strategy<Value = MappingKind> {
    prop::sample::select(MappingKind::ALL.to_vec())
}

fn columns(min: usize) -> impl Strategy<Value = Vec<ColumnDecl>> {
    vec(
        (name(), column_type()).prop_map(|(name, ty)| ColumnDecl { name, ty }),
        min..4,
    )
}

fn property() -> impl Strategy<Value = Property> {
    let key = "[A-Za-z_][A-Za-z0-9_]{0,8}";
    prop_oneof![
        (key, text()).prop_map(|(k, v)| Property::text(&k, &v)),
        (
            key,
            prop_oneof!["[a-z][a-z0-9]{0,5}", "[0-9]{1,4}", "[1-9][0-9]{0,2}d"]
        )
            .prop_map(|(k, v)| Property::bare(&k, &v)),
    ]
}

fn properties() -> impl Strategy<Value = Vec<Property>> {
    vec(property(), 0..3)
}

fn entity() -> impl Strategy<Value = EntityRef> {
    prop_oneof![
        table().prop_map(EntityRef::Table),
        name().prop_map(EntityRef::Database),
    ]
}

fn timespan() -> impl Strategy<Value = Timespan> {
    (1u64..10_000_000_000).prop_map(Timespan::from_millis)
}

fn instant() -> impl Strategy<Value = String> {
    (
        1900u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

fn policy_kind() -> impl Strategy<Value = PolicyKind> {
    prop::sample::select(vec![
        PolicyKind::IngestionBatching,
        PolicyKind::StreamingIngestion,
        PolicyKind::Retention,
        PolicyKind::Caching,
        PolicyKind::Update,
    ])
}

/// A policy and a value in a form its grammar takes.
fn policy_value() -> impl Strategy<Value = (PolicyKind, PolicyValue)> {
    prop_oneof![
        (policy_kind(), text()).prop_map(|(kind, json)| (kind, PolicyValue::Json(json))),
        any::<bool>().prop_map(|on| (PolicyKind::StreamingIngestion, PolicyValue::Switch(on))),
        (timespan(), option::of(any::<bool>())).prop_map(|(soft_delete, recoverable)| {
            (
                PolicyKind::Retention,
                PolicyValue::Retention {
                    soft_delete,
                    recoverable,
                },
            )
        }),
        (
            timespan(),
            option::of(timespan()),
            vec((instant(), instant()), 0..3)
        )
            .prop_map(|(data, index, windows)| {
                (
                    PolicyKind::Caching,
                    PolicyValue::Caching {
                        data,
                        index: index.unwrap_or(data),
                        windows,
                    },
                )
            }),
    ]
}

/// A body between braces: lines of query text, no braces of its own.
fn block() -> impl Strategy<Value = String> {
    "[a-z0-9 |=<>\n]{0,30}".prop_map(|b| format!("\n{b}\n"))
}

fn guid() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())
}

fn tags() -> impl Strategy<Value = Vec<TagFilter>> {
    let op = prop::sample::select(vec![
        TagOp::Has,
        TagOp::NotHas,
        TagOp::Contains,
        TagOp::NotContains,
    ]);
    vec(
        (op, text()).prop_map(|(op, tag)| TagFilter { op, tag }),
        1..3,
    )
}

fn role_scope() -> impl Strategy<Value = RoleScope> {
    prop_oneof![
        (name(), prop::sample::select(DatabaseRole::ALL.to_vec()))
            .prop_map(|(d, role)| RoleScope::Database(d, role)),
        (table(), prop::sample::select(TableRole::ALL.to_vec()))
            .prop_map(|(t, role)| RoleScope::Table(t, role)),
    ]
}

/// Commands that can stand in an `.execute database script`.
fn script_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (
            prop::sample::select(vec![
                SchemaVerb::Create,
                SchemaVerb::CreateMerge,
                SchemaVerb::Alter,
                SchemaVerb::AlterMerge,
            ]),
            table(),
            columns(1),
            properties()
        )
            .prop_map(|(verb, table, columns, properties)| Command::TableSchema {
                verb,
                table,
                columns,
                properties,
            }),
        (table(), name(), column_type()).prop_map(|(table, column, ty)| Command::AlterColumnType {
            table,
            column,
            ty
        }),
        (local_table(), name(), any::<bool>()).prop_map(|(table, column, if_exists)| {
            Command::DropColumn {
                table,
                column,
                if_exists,
            }
        }),
        (table(), any::<bool>())
            .prop_map(|(table, if_exists)| Command::DropTable { table, if_exists }),
        (name(), name()).prop_map(|(from, to)| Command::RenameTable { from, to }),
        (table(), name(), name()).prop_map(|(table, from, to)| Command::RenameColumn {
            table,
            from,
            to
        }),
        vec(
            (name(), name(), any::<bool>()).prop_map(|(to, from, if_exists)| TableRename {
                to,
                from,
                if_exists
            }),
            1..3
        )
        .prop_map(|renames| Command::RenameTables { renames }),
        (table(), text())
            .prop_map(|(table, docstring)| Command::AlterDocString { table, docstring }),
        (table(), text()).prop_map(|(table, folder)| Command::AlterFolder { table, folder }),
        (
            prop::sample::select(vec![
                MappingVerb::Create,
                MappingVerb::CreateOrAlter,
                MappingVerb::Alter
            ]),
            entity(),
            mapping_kind(),
            text(),
            text()
        )
            .prop_map(|(verb, entity, kind, name, json)| Command::SetMapping {
                verb,
                entity,
                kind,
                name,
                json,
            }),
        (entity(), mapping_kind(), text()).prop_map(|(entity, kind, name)| Command::DropMapping {
            entity,
            kind,
            name
        }),
        (
            any::<bool>(),
            prop_oneof![
                vec(table(), 1..4).prop_map(PolicyTarget::Tables),
                name().prop_map(PolicyTarget::Database),
            ],
            policy_value()
        )
            .prop_map(|(merge, target, (policy, value))| {
                // `.alter-merge` names one table or a database.
                let target = match target {
                    PolicyTarget::Tables(mut tables) if merge => {
                        tables.truncate(1);
                        PolicyTarget::Tables(tables)
                    }
                    other => other,
                };
                Command::AlterPolicy {
                    merge,
                    target,
                    policy,
                    value,
                }
            }),
        (entity(), policy_kind())
            .prop_map(|(entity, policy)| Command::DeletePolicy { entity, policy }),
        (
            prop::sample::select(vec![
                PrincipalAction::Add,
                PrincipalAction::Drop,
                PrincipalAction::Set
            ]),
            role_scope(),
            vec(text(), 0..3),
            any::<bool>(),
            option::of(text())
        )
            .prop_map(|(action, scope, mut principals, skip_results, notes)| {
                // Only `.set` takes `none`.
                if principals.is_empty() && action != PrincipalAction::Set {
                    principals.push("aaduser=someone".to_string());
                }
                Command::Principals {
                    action,
                    scope,
                    principals,
                    skip_results,
                    notes,
                }
            }),
        (
            local_table(),
            prop_oneof![
                Just(ExtentSelection::All),
                vec(guid(), 1..3).prop_map(ExtentSelection::Ids),
                tags().prop_map(ExtentSelection::Tags),
            ],
            any::<bool>()
        )
            .prop_map(|(table, selection, what_if)| Command::DropExtents {
                table,
                selection,
                what_if,
            }),
        (local_table(), any::<bool>(), name(), name(), -1000i64..1000).prop_map(
            |(table, what_if, t, c, n)| Command::DeleteRecords {
                table,
                what_if,
                predicate: format!("{} | where {} == {n}", quote::name(&t), quote::name(&c)),
            }
        ),
        (name(), columns(0), block(), properties()).prop_map(
            |(name, parameters, body, properties)| Command::CreateOrAlterFunction {
                name,
                parameters,
                body,
                properties,
            }
        ),
        (name(), any::<bool>())
            .prop_map(|(name, if_exists)| Command::DropFunction { name, if_exists }),
        (
            (any::<bool>(), any::<bool>(), any::<bool>()),
            (name(), name()),
            prop::sample::select(vec![ViewSource::Table, ViewSource::MaterializedView]),
            block(),
            properties()
        )
            .prop_map(
                |(
                    (is_async, if_not_exists, or_alter),
                    (name, source),
                    source_kind,
                    query,
                    properties,
                )| {
                    Command::CreateMaterializedView {
                        is_async: is_async && !or_alter,
                        if_not_exists: if_not_exists && !or_alter,
                        or_alter,
                        name,
                        source,
                        source_kind,
                        query,
                        properties,
                    }
                }
            ),
        (
            (name(), name()),
            prop::sample::select(vec![ViewSource::Table, ViewSource::MaterializedView]),
            block(),
            properties()
        )
            .prop_map(|((name, source), source_kind, query, properties)| {
                Command::AlterMaterializedView {
                    name,
                    source,
                    source_kind,
                    query,
                    properties,
                }
            }),
        (
            name(),
            prop::sample::select(vec![ViewMetadata::DocString, ViewMetadata::Folder]),
            text()
        )
            .prop_map(
                |(name, field, value)| Command::AlterMaterializedViewMetadata {
                    name,
                    field,
                    value
                }
            ),
        (name(), any::<bool>())
            .prop_map(|(name, if_exists)| Command::DropMaterializedView { name, if_exists }),
        (name(), name()).prop_map(|(from, to)| Command::RenameMaterializedView { from, to }),
    ]
}

/// Read-only commands and the ones that cannot stand in a script.
fn other_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::ShowVersion),
        Just(Command::ShowDatabases),
        Just(Command::ShowTables),
        Just(Command::GetIngestionResources),
        Just(Command::GetKustoIdentityToken),
        Just(Command::ShowIngestionFailures),
        Just(Command::ShowFunctions),
        Just(Command::ShowMaterializedViews),
        name().prop_map(|database| Command::ShowDatabaseSchemaJson { database }),
        (name(), any::<(bool, bool, bool)>()).prop_map(|(database, (e, s, m))| {
            Command::ShowDatabaseSchemaScript {
                database,
                options: SchemaScriptOptions {
                    include_encoding_policies: e,
                    include_security_settings: s,
                    include_ingestion_mappings: m,
                },
            }
        }),
        table().prop_map(|table| Command::ShowTableSchemaJson { table }),
        (entity(), option::of((mapping_kind(), option::of(text())))).prop_map(|(entity, kind)| {
            let (kind, name) = match kind {
                Some((kind, name)) => (Some(kind), name),
                None => (None, None),
            };
            Command::ShowMappings { entity, kind, name }
        }),
        (
            prop_oneof![
                table().prop_map(PolicyShowTarget::Table),
                Just(PolicyShowTarget::AllTables),
                name().prop_map(PolicyShowTarget::Database),
            ],
            policy_kind()
        )
            .prop_map(|(target, policy)| Command::ShowPolicy { target, policy }),
        name().prop_map(|database| Command::ShowDatabasePrincipals { database }),
        table().prop_map(|table| Command::ShowTablePrincipals { table }),
        (table(), prop_oneof![Just(Vec::new()), tags()])
            .prop_map(|(table, tags)| Command::ShowExtents { table, tags }),
        (table(), properties(), " [ -~\n]{0,20}").prop_map(|(table, properties, data)| {
            Command::IngestInline {
                table,
                properties,
                data,
            }
        }),
        name().prop_map(|name| Command::ShowFunction { name }),
        name().prop_map(|name| Command::ShowMaterializedView { name }),
        guid().prop_map(|id| Command::ShowOperation { id }),
        (any::<bool>(), any::<bool>(), vec(script_command(), 1..4)).prop_map(
            |(continue_on_errors, throw_on_errors, commands)| Command::ExecuteScript {
                continue_on_errors,
                throw_on_errors,
                commands: commands
                    .into_iter()
                    .map(|command| ScriptCommand {
                        text: command.to_string(),
                        command,
                    })
                    .collect(),
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_printed_command_parses_back_to_itself(
        command in prop_oneof![script_command(), other_command()]
    ) {
        let text = command.to_string();
        let parsed = parse(&text);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&command), "{}\n{:?}", text, parsed);
    }
}

#[test]
fn timespans_print_in_their_largest_whole_unit() {
    for (ms, text) in [
        (365 * 86_400_000, "365d"),
        (12 * 3_600_000, "12h"),
        (90 * 60_000, "90m"),
        (10_000, "10s"),
        (250, "250ms"),
        (1_500, "1500ms"),
    ] {
        assert_eq!(timespan_literal(Timespan::from_millis(ms)), text);
    }
}

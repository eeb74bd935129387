//! The committed editor schema (`schemas/kustoplan.schema.json`) checked with real tools: Ajv
//! in strict mode (draft 2020-12, `tests/editor_schema/check.mjs`) must compile it, and Ajv and
//! yaml-language-server (what VS Code's YAML extension runs, spoken to over stdio like an editor,
//! `tests/editor_schema/lsp-check.mjs`) must find no problem in any document of any example
//! manifest and flag each wrong manifest. The wrong manifests are one-edit copies of the
//! telemetry example that `kustoplan validate` rejects too (with the expected message), and the
//! variable cases are copies it accepts, so the schema an editor uses flags what validate flags
//! and nothing it accepts. Needs Node.js; skipped loudly without it, except in CI.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// An edit of a file of `examples/telemetry`: (file, text that must be there, replacement).
type Edit = (&'static str, &'static str, &'static str);

/// A manifest with one problem, as a newcomer would make it.
struct Wrong {
    /// The problem, for failure messages.
    what: &'static str,
    /// How the telemetry example is broken.
    edits: &'static [Edit],
    /// What `validate` says about it (part of its message).
    validate_says: &'static str,
}

/// One problem each; every one is a `validate` error the schema must flag too.
const WRONG: &[Wrong] = &[
    Wrong {
        what: "unknown column type",
        edits: &[(
            "tables.yaml",
            "{name: Sensor, type: string}",
            "{name: Sensor, type: strnig}",
        )],
        validate_says: "unknown column type `strnig`",
    },
    Wrong {
        what: "unknown mapping datatype",
        edits: &[("tables.yaml", "datatype: double", "datatype: dbl")],
        validate_says: "unknown datatype `dbl`",
    },
    Wrong {
        what: "unknown function parameter type",
        edits: &[("functions.yaml", "type: timespan}", "type: timespam}")],
        validate_says: "unknown parameter type `timespam`",
    },
    Wrong {
        what: "unknown mapping transform",
        edits: &[(
            "tables.yaml",
            "transform: DateTimeFromUnixMilliseconds",
            "transform: DateTimeFromUnixMillis",
        )],
        validate_says: "unknown transform `DateTimeFromUnixMillis`",
    },
    Wrong {
        what: "table name with a slash",
        edits: &[(
            "tables.yaml",
            "name: FirmwareEvents",
            "name: Firmware/Events",
        )],
        validate_says: "invalid table name `Firmware/Events`",
    },
    Wrong {
        what: "topic name with a space",
        edits: &[("kafka.yaml", "name: telemetry.dlq", "name: telemetry dlq")],
        validate_says: "invalid topic name `telemetry dlq`",
    },
    Wrong {
        what: "mapping kind typo",
        edits: &[(
            "tables.yaml",
            "name: readings_json\n    kind: json",
            "name: readings_json\n    kind: jsn",
        )],
        validate_says: "unknown mapping kind `jsn`",
    },
    Wrong {
        what: "route format typo",
        edits: &[("sinks.yaml", "format: multijson", "format: multijsn")],
        validate_says: "unknown data format `multijsn`",
    },
    Wrong {
        what: "principal with both app and user",
        edits: &[(
            "database.yaml",
            "{group: analysts@example.com}",
            "{group: analysts@example.com, user: jane@example.com}",
        )],
        validate_says: "a principal needs exactly one of `app`, `user`, `group`",
    },
    Wrong {
        what: "principal with none of app, user, group",
        edits: &[(
            "database.yaml",
            "{user: auditor@example.com}",
            "{notes: auditor}",
        )],
        validate_says: "a principal needs exactly one of `app`, `user`, `group`",
    },
    Wrong {
        what: "application auth of a sink without its key",
        edits: &[(
            "sinks.yaml",
            "  app_key: ${file:/opt/kafka/secrets/kusto.properties:appkey}\n",
            "",
        )],
        validate_says: "`auth.strategy: application` needs `app_key`",
    },
    Wrong {
        what: "client secret auth of kustoplan without the secret",
        edits: &[(
            "stack.yaml",
            "method: ${var.kusto_auth}",
            "method: client_secret",
        )],
        validate_says: "`client_secret` auth needs `client_secret: {env: NAME}`",
    },
    Wrong {
        what: "literal secret in a sink",
        edits: &[(
            "sinks.yaml",
            "app_key: ${file:/opt/kafka/secrets/kusto.properties:appkey}",
            "app_key: n0t-a-reference",
        )],
        validate_says: "literal secret in `app_key`",
    },
    Wrong {
        what: "literal secret in the Kafka client",
        edits: &[(
            "stack.yaml",
            "      sasl_mechanism: OAUTHBEARER\n",
            "      sasl_mechanism: PLAIN\n      username: u\n      password: hunter2\n",
        )],
        validate_says: "literal secret in `password`",
    },
    Wrong {
        what: "Connect placeholder for a secret kustoplan reads itself",
        edits: &[(
            "stack.yaml",
            "      sasl_mechanism: OAUTHBEARER\n",
            "      sasl_mechanism: PLAIN\n      username: u\n      password: '${file:/s.properties:pw}'\n",
        )],
        validate_says: "`password` is read by kustoplan itself",
    },
    Wrong {
        what: "OAUTHBEARER without an Entra ID credential",
        edits: &[
            (
                "stack.yaml",
                "      protocol: ${var.kafka_protocol}\n",
                "      protocol: sasl_ssl\n",
            ),
            (
                "stack.yaml",
                "      auth:\n        method: ${var.kafka_auth}\n        tenant_id: ${var.tenant_id}\n        client_id: 00000000-0000-0000-0000-00000000c1c0\n",
                "",
            ),
        ],
        validate_says: "`sasl_mechanism: OAUTHBEARER` needs `auth` with an Entra ID method",
    },
    Wrong {
        what: "an Entra ID credential for Kafka without OAUTHBEARER",
        edits: &[
            (
                "stack.yaml",
                "      protocol: ${var.kafka_protocol}\n",
                "      protocol: plaintext\n",
            ),
            (
                "stack.yaml",
                "        method: ${var.kafka_auth}\n",
                "        method: managed_identity\n",
            ),
        ],
        validate_says: "`auth` is only used with `sasl_mechanism: OAUTHBEARER` on a SASL protocol",
    },
    Wrong {
        what: "literal secret in a sink's config",
        edits: &[(
            "sinks.yaml",
            "  consumer.override.auto.offset.reset: earliest\n",
            "  consumer.override.auto.offset.reset: earliest\n  consumer.override.sasl.jaas.config: pl41n\n",
        )],
        validate_says: "literal secret in `consumer.override.sasl.jaas.config`",
    },
    Wrong {
        // Plans mask this key: a literal would still reach the Connect request a plan file keeps.
        what: "literal schema registry credential in a sink's config",
        edits: &[(
            "sinks.yaml",
            "  consumer.override.auto.offset.reset: earliest\n",
            "  consumer.override.auto.offset.reset: earliest\n  value.converter.basic.auth.user.info: 'bob:pl41n'\n",
        )],
        validate_says: "literal secret in `value.converter.basic.auth.user.info`",
    },
    Wrong {
        what: "derived key in a sink's config",
        edits: &[(
            "sinks.yaml",
            "  consumer.override.auto.offset.reset: earliest\n",
            "  consumer.override.auto.offset.reset: earliest\n  tasks.max: 4\n",
        )],
        validate_says: "`tasks.max` is derived by kustoplan",
    },
    Wrong {
        what: "batching items above the range",
        edits: &[("tables.yaml", "max_items: 500", "max_items: 30000")],
        validate_says: "`max_items` 30000 is outside the allowed range",
    },
    Wrong {
        what: "batching size below the range",
        edits: &[(
            "database.yaml",
            "max_raw_size_mb: 512",
            "max_raw_size_mb: 50",
        )],
        validate_says: "`max_raw_size_mb` 50 is outside the allowed range",
    },
    Wrong {
        what: "batching time that is not a timespan",
        edits: &[("tables.yaml", "max_time: 30s", "max_time: 30 seconds")],
        validate_says: "`max_time` is not a timespan",
    },
    Wrong {
        what: "hot window end that is not a date",
        edits: &[(
            "tables.yaml",
            "{from: 2026-01-01, to: 2026-02-01}",
            "{from: 2026-01-01, to: 2026-13-01}",
        )],
        validate_says: "`2026-13-01` is not a date or UTC instant",
    },
    Wrong {
        what: "flush interval below the minimum",
        edits: &[("sinks.yaml", "interval_ms: 1000", "interval_ms: 10")],
        validate_says: "`flush.interval_ms` must be at least 100",
    },
    Wrong {
        what: "zero tasks",
        edits: &[("sinks.yaml", "tasks_max: ${var.partitions}", "tasks_max: 0")],
        validate_says: "`tasks_max` must be at least 1",
    },
    Wrong {
        what: "zero partitions",
        edits: &[(
            "kafka.yaml",
            "name: telemetry.firmware\npartitions: 1",
            "name: telemetry.firmware\npartitions: 0",
        )],
        validate_says: "a topic needs at least 1 partition",
    },
    Wrong {
        what: "connector state typo",
        edits: &[("sinks.yaml", "state: paused", "state: pasued")],
        validate_says: "`state` must be one of",
    },
    Wrong {
        what: "behavior on error typo",
        edits: &[("sinks.yaml", "behavior: log", "behavior: logg")],
        validate_says: "`behavior` must be one of",
    },
    Wrong {
        what: "converter class typo",
        edits: &[(
            "sinks.yaml",
            "value: {class: json, schemas_enable: false}",
            "value: {class: jsn, schemas_enable: false}",
        )],
        validate_says: "unknown converter `jsn`",
    },
    Wrong {
        what: "recoverability typo",
        edits: &[(
            "database.yaml",
            "recoverability: enabled",
            "recoverability: on",
        )],
        validate_says: "`recoverability` must be",
    },
    Wrong {
        what: "impact class typo",
        edits: &[("stack.yaml", "allow: [restart]", "allow: [restrat]")],
        validate_says: "`allow` must be one of",
    },
    Wrong {
        what: "integer field given a string",
        edits: &[(
            "kafka.yaml",
            "name: telemetry.inventory\npartitions: 1",
            "name: telemetry.inventory\npartitions: many",
        )],
        validate_says: "`partitions` must be an integer, found a string",
    },
    Wrong {
        what: "integer field given a string around a variable",
        edits: &[(
            "kafka.yaml",
            "name: telemetry.readings\npartitions: ${var.partitions}",
            "name: telemetry.readings\npartitions: ${var.partitions}0",
        )],
        validate_says: "`partitions` must be an integer, found a string",
    },
    Wrong {
        what: "boolean field given a string",
        edits: &[(
            "tables.yaml",
            "streaming_ingestion: true",
            "streaming_ingestion: sure",
        )],
        validate_says: "`streaming_ingestion` must be a boolean",
    },
    Wrong {
        what: "unknown key",
        edits: &[(
            "kafka.yaml",
            "name: telemetry.firmware\npartitions: 1",
            "name: telemetry.firmware\npartitions: 1\nretention: 7d",
        )],
        validate_says: "unknown key `retention`",
    },
    Wrong {
        what: "null value",
        edits: &[("views.yaml", "lookback: 6h", "lookback:")],
        validate_says: "`lookback` must be a string, found null",
    },
];

/// `${var.NAME}` references where numbers, booleans and enums go (whole), and inside a
/// constrained string.
const WITH_VARIABLES: &[(&str, &[Edit])] = &[
    (
        "a variable in an integer range",
        &[
            (
                "stack.yaml",
                "  partitions: 3\n",
                "  partitions: 3\n  batch_items: 500\n",
            ),
            (
                "tables.yaml",
                "max_items: 500",
                "max_items: ${var.batch_items}",
            ),
        ],
    ),
    (
        "a variable inside a timespan",
        &[
            (
                "stack.yaml",
                "  partitions: 3\n",
                "  partitions: 3\n  batch_seconds: 30\n",
            ),
            (
                "tables.yaml",
                "max_time: 30s",
                "max_time: ${var.batch_seconds}s",
            ),
        ],
    ),
    (
        "a variable inside a topic name, and a column name beyond ASCII",
        &[
            (
                "stack.yaml",
                "  partitions: 3\n",
                "  partitions: 3\n  firmware: firmware\n",
            ),
            (
                "kafka.yaml",
                "name: telemetry.firmware",
                "name: telemetry.${var.firmware}",
            ),
            (
                "sinks.yaml",
                "topic: telemetry.firmware,",
                "topic: \"telemetry.${var.firmware}\",",
            ),
            (
                "tables.yaml",
                "{name: Model, type: string}",
                "{name: Modèle, type: string}",
            ),
            (
                "tables.yaml",
                "{column: Model, ordinal: 1}",
                "{column: Modèle, ordinal: 1}",
            ),
        ],
    ),
    (
        "a variable in a boolean",
        &[
            (
                "stack.yaml",
                "  partitions: 3\n",
                "  partitions: 3\n  alerts_streaming: true\n",
            ),
            (
                "tables.yaml",
                "streaming_ingestion: true",
                "streaming_ingestion: ${var.alerts_streaming}",
            ),
        ],
    ),
    (
        "variables in an enum and a column type",
        &[
            (
                "stack.yaml",
                "  partitions: 3\n",
                "  partitions: 3\n  bulk_state: paused\n  id_type: guid\n",
            ),
            ("sinks.yaml", "state: paused", "state: ${var.bulk_state}"),
            (
                "tables.yaml",
                "{name: DeviceId, type: guid}\n  - {name: Sensor,",
                "{name: DeviceId, type: \"${var.id_type}\"}\n  - {name: Sensor,",
            ),
        ],
    ),
];

fn checker_dir() -> PathBuf {
    common::repo().join("tests").join("editor_schema")
}

/// The two tools every manifest goes through.
#[derive(Debug, Clone, Copy)]
enum Tool {
    /// Ajv in strict mode, draft 2020-12: the reference validator (`check.mjs`).
    Ajv,
    /// yaml-language-server over stdio, as VS Code's YAML extension runs it (`lsp-check.mjs`).
    YamlLanguageServer,
}

const TOOLS: [Tool; 2] = [Tool::Ajv, Tool::YamlLanguageServer];

impl Tool {
    fn script(self) -> &'static str {
        match self {
            Tool::Ajv => "check.mjs",
            Tool::YamlLanguageServer => "lsp-check.mjs",
        }
    }
}

/// What one tool says about one file.
struct Verdict {
    file: PathBuf,
    /// YAML documents in the file (Ajv only; the language server reports per file).
    documents: u64,
    problems: Vec<String>,
}

/// Every problem `tool` finds in `files` against the committed schema; `None` when the test
/// should skip (no Node outside CI).
fn check(tool: Tool, test: &str, files: &[PathBuf]) -> Option<Vec<Verdict>> {
    if !common::npm::pinned_packages(&checker_dir(), test) {
        return None;
    }
    let lines: Vec<String> = files
        .iter()
        .map(|f| json!({ "file": f }).to_string())
        .collect();
    let (_dir, input) = common::write_lines(&lines);
    let out = common::run_ok(
        Command::new("node")
            .arg(checker_dir().join(tool.script()))
            .arg(common::repo().join("schemas").join("kustoplan.schema.json"))
            .arg(&input),
    );
    let verdicts: Vec<Verdict> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{} printed `{line}`: {e}", tool.script()));
            Verdict {
                file: PathBuf::from(v["file"].as_str().unwrap_or_default()),
                documents: v["documents"].as_u64().unwrap_or_default(),
                problems: v["problems"]
                    .as_array()
                    .map(|p| {
                        p.iter()
                            .map(|p| p.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        files.len(),
        "{tool:?} judged {} of {} files",
        verdicts.len(),
        files.len()
    );
    Some(verdicts)
}

/// `file: problems` of every file with some, one per line.
fn problems(verdicts: &[Verdict]) -> String {
    verdicts
        .iter()
        .filter(|v| !v.problems.is_empty())
        .map(|v| format!("{}: {}", v.file.display(), v.problems.join("; ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every manifest file of every example: the YAML files under `examples/` that point editors
/// at the schema (the CI pipeline examples are not manifests).
fn example_manifests() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(common::repo().join("examples"))
        .expect("read examples/")
        .map(|e| e.expect("read examples/").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter()
        .flat_map(common::manifest_files)
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_else(|e| panic!("read {}: {e}", f.display()))
                .starts_with("# yaml-language-server: $schema=")
        })
        .collect()
}

/// A copy of the telemetry example with `edits` applied.
fn edited_telemetry(edits: &[Edit]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in common::manifest_files(common::repo().join("examples").join("telemetry")) {
        let name = file.file_name().expect("file name");
        std::fs::copy(&file, dir.path().join(name)).expect("copy example");
    }
    for (file, from, to) in edits {
        common::cli::edit(dir.path(), file, from, to);
    }
    dir
}

/// `kustoplan validate` of a stack directory: its exit code and output.
fn validate(stack: &Path) -> common::cli::Run {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = stack.to_str().expect("UTF-8 temp path");
    common::cli::kustoplan(sandbox.path(), &["validate", stack])
}

#[test]
fn every_document_of_every_example_has_no_problem() {
    let test = "every_document_of_every_example_has_no_problem";
    let files = example_manifests();
    for dir in ["gameplay", "telemetry"] {
        assert!(
            files
                .iter()
                .any(|f| f.parent().is_some_and(|p| p.ends_with(dir))),
            "no manifest of examples/{dir} found"
        );
    }
    for tool in TOOLS {
        let Some(verdicts) = check(tool, test, &files) else {
            return;
        };
        if let Tool::Ajv = tool {
            let documents: u64 = verdicts.iter().map(|v| v.documents).sum();
            assert!(
                documents > files.len() as u64,
                "expected several documents in some example files, got {documents}"
            );
        }
        let found = problems(&verdicts);
        assert!(
            found.is_empty(),
            "{tool:?} finds problems in the examples:\n{found}"
        );
    }
}

#[test]
fn each_wrong_manifest_is_flagged_by_the_schema_and_by_validate() {
    let test = "each_wrong_manifest_is_flagged_by_the_schema_and_by_validate";
    let cases: Vec<(&Wrong, tempfile::TempDir)> = WRONG
        .iter()
        .map(|w| (w, edited_telemetry(w.edits)))
        .collect();
    for (wrong, dir) in &cases {
        let run = validate(dir.path());
        assert_eq!(
            run.code,
            1,
            "validate accepts the wrong manifest ({}):\n{}",
            wrong.what,
            run.all()
        );
        assert!(
            run.stderr.contains(wrong.validate_says),
            "validate does not say `{}` about {}:\n{}",
            wrong.validate_says,
            wrong.what,
            run.all()
        );
    }
    let edited: Vec<PathBuf> = cases
        .iter()
        .flat_map(|(w, dir)| w.edits.iter().map(|(file, _, _)| dir.path().join(file)))
        .collect();
    for tool in TOOLS {
        let Some(verdicts) = check(tool, test, &edited) else {
            return;
        };
        let missed: Vec<&str> = cases
            .iter()
            .filter(|(w, dir)| {
                !verdicts.iter().any(|v| {
                    !v.problems.is_empty()
                        && w.edits
                            .iter()
                            .any(|(file, _, _)| v.file == dir.path().join(file))
                })
            })
            .map(|(w, _)| w.what)
            .collect();
        assert!(
            missed.is_empty(),
            "{tool:?} accepts wrong manifests: {missed:?}"
        );
    }
}

#[test]
fn variables_in_numbers_booleans_enums_and_strings_are_accepted_by_the_schema_and_by_validate() {
    let test = "variables_in_numbers_booleans_enums_and_strings_are_accepted_by_the_schema_and_by_validate";
    let cases: Vec<(&str, tempfile::TempDir)> = WITH_VARIABLES
        .iter()
        .map(|(name, edits)| (*name, edited_telemetry(edits)))
        .collect();
    for (name, dir) in &cases {
        let run = validate(dir.path());
        assert_eq!(run.code, 0, "validate rejects {name}:\n{}", run.all());
    }
    let files: Vec<PathBuf> = cases
        .iter()
        .flat_map(|(_, dir)| common::manifest_files(dir.path()))
        .collect();
    for tool in TOOLS {
        let Some(verdicts) = check(tool, test, &files) else {
            return;
        };
        let found = problems(&verdicts);
        assert!(found.is_empty(), "{tool:?} rejects variables:\n{found}");
    }
}

//! Every recorded response of a real Connect 4.3 worker (`tests/fixtures/connect-4.3`)
//! parses into the typed forms with exact values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::mask::Masker;
use super::types::*;

pub(crate) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/connect-4.3")
}

fn body(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn status_code(name: &str) -> u16 {
    let path = fixture_dir().join(format!("{name}.status"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_slice(&body(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const WORKER: &str = "127.0.0.1:18083";
const FILE_SINK: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

fn running_task(id: u32) -> TaskState {
    TaskState {
        id,
        state: State::Running,
        worker_id: WORKER.into(),
        version: Some("4.3.0".into()),
        trace: None,
    }
}

fn connector_state(state: State) -> ConnectorState {
    ConnectorState {
        state,
        worker_id: WORKER.into(),
        version: Some("4.3.0".into()),
        trace: None,
    }
}

fn config(pairs: &[(&str, &str)]) -> ConnectorConfig {
    ConnectorConfig::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn root_and_plugins() {
    assert_eq!(status_code("01-root"), 200);
    let info: ServerInfo = parse("01-root");
    assert_eq!(
        info,
        ServerInfo {
            version: "4.3.0".into(),
            commit: "a9ce3221537b8653".into(),
            kafka_cluster_id: "tansu_cluster".into(),
        }
    );
    let plugins: Vec<PluginInfo> = parse("02-connector-plugins");
    assert_eq!(
        plugins,
        vec![
            PluginInfo {
                class: FILE_SINK.into(),
                kind: "sink".into(),
                version: Some("4.3.0".into()),
            },
            PluginInfo {
                class: "org.apache.kafka.connect.file.FileStreamSourceConnector".into(),
                kind: "source".into(),
                version: Some("4.3.0".into()),
            },
        ]
    );
    let all: Vec<PluginInfo> = parse("02b-connector-plugins-all");
    assert!(all.len() > plugins.len());
    assert!(all.iter().any(|p| p.kind == "transformation"));
}

#[test]
fn put_config_create_and_update() {
    assert_eq!(status_code("03-put-config-create"), 201);
    let created: ConnectorInfo = parse("03-put-config-create");
    assert_eq!(
        created,
        ConnectorInfo {
            name: "file-sink".into(),
            config: config(&[
                ("connector.class", FILE_SINK),
                ("tasks.max", "1"),
                ("topics", "sink-in"),
                ("file", "/var/lib/connect/data/out/file-sink.txt"),
                ("name", "file-sink"),
            ]),
            tasks: vec![],
            kind: Some("sink".into()),
        }
    );
    assert_eq!(status_code("08-put-config-update"), 200);
    let updated: ConnectorInfo = parse("08-put-config-update");
    assert_eq!(updated.config.get("errors.tolerance"), Some("all"));
    assert_eq!(updated.config.get("errors.log.enable"), Some("true"));
    assert_eq!(
        updated.tasks,
        vec![TaskId {
            connector: "file-sink".into(),
            task: 0
        }]
    );
    let again: ConnectorInfo = parse("40-put-again");
    assert_eq!(status_code("40-put-again"), 201);
    assert_eq!(
        again.config.get("file"),
        Some("/var/lib/connect/data/out/file-sink-2.txt")
    );
    let sa: ConnectorInfo = parse("sa-02-put");
    assert_eq!(sa.config.get("connector.class"), Some("FileStreamSink"));
    assert_eq!(sa.tasks.len(), 1, "standalone mode assigns tasks at once");
}

#[test]
fn expanded_list_running_and_stopped() {
    let list: BTreeMap<String, ExpandedConnector> = parse("04-connectors-expand");
    assert_eq!(list.len(), 1);
    let fs = &list["file-sink"];
    assert_eq!(
        fs.status,
        ConnectorStatus {
            name: "file-sink".into(),
            connector: connector_state(State::Running),
            tasks: vec![running_task(0)],
            kind: Some("sink".into()),
        }
    );
    assert_eq!(
        fs.info.config.expose().keys().collect::<Vec<_>>(),
        ["connector.class", "file", "name", "tasks.max", "topics"]
    );
    assert_eq!(fs.info.tasks.len(), 1);

    let stopped: BTreeMap<String, ExpandedConnector> = parse("16d-expand-stopped");
    let fs = &stopped["file-sink"];
    assert_eq!(fs.status.connector.state, State::Stopped);
    assert!(fs.status.tasks.is_empty());
    assert!(fs.info.tasks.is_empty());

    let empty: BTreeMap<String, ExpandedConnector> = parse("38-list-after-delete");
    assert!(empty.is_empty());
}

#[test]
fn single_connector_endpoints() {
    let info: ConnectorInfo = parse("05b-connector");
    assert_eq!(info.name, "file-sink");
    let cfg: BTreeMap<String, String> = parse("05c-config");
    assert_eq!(cfg.get("topics").map(String::as_str), Some("sink-in"));
    assert_eq!(cfg.len(), 5);
    let tasks: serde_json::Value = parse("05d-tasks");
    assert_eq!(
        tasks[0]["config"]["task.class"],
        "org.apache.kafka.connect.file.FileStreamSinkTask"
    );
    let names: Vec<String> = parse("05f-list");
    assert_eq!(names, ["file-sink"]);
    let names: Vec<String> = parse("31b-list");
    assert_eq!(names, ["failing-sink", "file-sink"]);
    let topics: BTreeMap<String, BTreeMap<String, Vec<String>>> = parse("10b-topics-after");
    assert_eq!(topics["file-sink"]["topics"], ["sink-in"]);
    let stopped: ConnectorInfo = parse("16b-connector-stopped");
    assert!(stopped.tasks.is_empty());
}

#[test]
fn every_state_parses() {
    let cases: &[(&str, State, &[State])] = &[
        ("05-status", State::Running, &[State::Running]),
        ("09-status-after-update", State::Running, &[State::Running]),
        ("12-status-paused", State::Paused, &[State::Paused]),
        ("14-status-resumed", State::Running, &[State::Running]),
        ("16-status-stopped", State::Stopped, &[]),
        (
            "18-status-after-resume-from-stop",
            State::Running,
            &[State::Running],
        ),
        (
            "19-restart-running-onlyfailed",
            State::Running,
            &[State::Running],
        ),
        (
            "19c-restart-includetasks",
            State::Restarting,
            &[State::Restarting],
        ),
        ("19d-status", State::Running, &[State::Running]),
        ("07-status-task-failed", State::Running, &[State::Failed]),
        ("21-status-failed", State::Running, &[State::Failed]),
        (
            "22-restart-onlyfailed",
            State::Running,
            &[State::Restarting],
        ),
        ("23-status-after-restart", State::Running, &[State::Failed]),
        ("sa-03-status", State::Running, &[State::Running]),
        ("sa-05-status", State::Stopped, &[]),
    ];
    for (name, connector, tasks) in cases {
        let s: ConnectorStatus = parse(name);
        assert_eq!(&s.connector.state, connector, "{name}");
        let got: Vec<State> = s.tasks.iter().map(|t| t.state.clone()).collect();
        assert_eq!(&got, tasks, "{name}");
    }
    let paused: ConnectorStatus = parse("12-status-paused");
    assert_eq!(
        paused,
        ConnectorStatus {
            name: "file-sink".into(),
            connector: connector_state(State::Paused),
            tasks: vec![TaskState {
                state: State::Paused,
                ..running_task(0)
            }],
            kind: Some("sink".into()),
        }
    );
    assert_eq!(State::parse("UNASSIGNED"), State::Unassigned);
    assert_eq!(State::parse("DESTROYED"), State::Other("DESTROYED".into()));
    assert_eq!(State::Unassigned.to_string(), "UNASSIGNED");
}

#[test]
fn failed_task_traces() {
    let s: ConnectorStatus = parse("21-status-failed");
    assert_eq!(s.name, "failing-sink");
    let failed: Vec<&TaskState> = s.failed_tasks().collect();
    assert_eq!(failed.len(), 1);
    let trace = failed[0].trace.as_deref().expect("trace");
    assert!(trace.starts_with(
        "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\n\tat "
    ));
    assert!(trace.contains("Unrecognized token 'not'"));
    // A restarting task keeps its last trace.
    let r: ConnectorStatus = parse("22-restart-onlyfailed");
    assert!(
        r.tasks[0]
            .trace
            .as_deref()
            .is_some_and(|t| t.contains("Tolerance exceeded"))
    );
    let task: TaskState = parse("24b-task-status");
    assert_eq!((task.id, task.state), (0, State::Failed));
    let s7: ConnectorStatus = parse("07-status-task-failed");
    assert!(
        s7.tasks[0]
            .trace
            .as_deref()
            .is_some_and(|t| t.contains("Unrecognized token 'k3'"))
    );
}

#[test]
fn empty_bodies_of_accepted_actions() {
    for (name, status) in [
        ("11-pause", 202),
        ("13-resume", 202),
        ("15-stop", 204),
        ("17-resume-from-stop", 202),
        ("19b-restart-plain", 204),
        ("24-task-restart", 204),
        ("36-delete", 204),
        ("36b-delete-failing", 204),
        ("sa-04-stop", 204),
        ("sa-06-delete", 204),
    ] {
        assert_eq!(status_code(name), status, "{name}");
        assert!(body(name).iter().all(u8::is_ascii_whitespace), "{name}");
    }
    assert_eq!(status_code("19-restart-running-onlyfailed"), 202);
    assert_eq!(status_code("19c-restart-includetasks"), 202);
    assert_eq!(status_code("22-restart-onlyfailed"), 202);
}

#[test]
fn validate_ok_and_bad() {
    let raw = serde_json::from_slice(&body("25-validate-ok")).expect("25");
    let ok = ValidationReport::from_raw(raw, &mut Masker::default());
    assert_eq!(ok.class, FILE_SINK);
    assert!(ok.is_valid());
    assert_eq!(
        ok.groups,
        ["Common", "Transforms", "Predicates", "Error Handling"]
    );
    assert_eq!(ok.keys.len(), 25);
    assert!(ok.errors().is_empty());
    let tasks_max = ok
        .keys
        .iter()
        .find(|k| k.name == "tasks.max")
        .expect("tasks.max");
    assert_eq!(
        tasks_max,
        &ValidatedKey {
            name: "tasks.max".into(),
            kind: "INT".into(),
            required: false,
            value: Some("1".into()),
            errors: vec![],
        }
    );

    let raw = serde_json::from_slice(&body("26-validate-bad")).expect("26");
    let bad = ValidationReport::from_raw(raw, &mut Masker::default());
    assert_eq!(bad.error_count, 4);
    assert!(!bad.is_valid());
    let errors: Vec<(&str, Vec<&str>)> = bad
        .errors()
        .into_iter()
        .map(|(k, e)| (k, e.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                "tasks.max",
                vec![
                    "Invalid value zero for configuration tasks.max: Not a number of type INT",
                    "Invalid value null for configuration tasks.max: Value must be non-null",
                ]
            ),
            (
                "topics",
                vec!["Must configure one of topics or topics.regex"]
            ),
            (
                "topics.regex",
                vec!["Must configure one of topics or topics.regex"]
            ),
        ]
    );
    let tm = bad
        .keys
        .iter()
        .find(|k| k.name == "tasks.max")
        .expect("tasks.max");
    assert_eq!(tm.value, None);
}

#[test]
fn error_bodies() {
    let cases: &[(&str, u16, &str)] = &[
        ("31-get-missing", 404, "Connector kusto-sink not found"),
        ("35-pause-missing", 404, "Unknown connector nope"),
        (
            "35b-status-missing",
            404,
            "No status found for connector nope",
        ),
        ("37-delete-again", 404, "Connector file-sink not found"),
        (
            "39-get-after-delete",
            404,
            "No status found for connector file-sink",
        ),
        (
            "33-put-no-class",
            400,
            "Connector config {name=noclass, topics=sink-in} contains no connector type",
        ),
    ];
    for (name, status, message) in cases {
        assert_eq!(status_code(name), *status, "{name}");
        let e = ErrorBody::parse(&body(name)).expect(name);
        assert_eq!(
            e,
            ErrorBody {
                error_code: i64::from(*status),
                message: message.to_string()
            },
            "{name}"
        );
    }
    for (name, status) in [
        ("28-put-missing-plugin", 400),
        ("29-validate-missing-plugin", 500),
        ("29b-validate-missing-plugin-fqcn", 500),
        ("30-post-missing-plugin", 400),
        ("32-put-missing-class-entirely", 400),
    ] {
        assert_eq!(status_code(name), status, "{name}");
        let e = ErrorBody::parse(&body(name)).expect(name);
        assert_eq!(e.error_code, i64::from(status));
        assert!(
            e.message
                .contains("Failed to find any class that implements Connector"),
            "{name}"
        );
        assert!(
            !super::request::status_is_retryable(status, &e.message),
            "{name}: a missing plugin is permanent"
        );
    }
    let invalid = ErrorBody::parse(&body("34-put-invalid-config")).expect("34");
    assert_eq!(
        invalid.message,
        "Connector configuration is invalid and contains the following 4 error(s):\nInvalid \
         value x for configuration tasks.max: Not a number of type INT\nInvalid value null for \
         configuration tasks.max: Value must be non-null\nMust configure one of topics or \
         topics.regex\nMust configure one of topics or topics.regex\nYou can also find the \
         above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
    );
    assert_eq!(ErrorBody::parse(b"<html>bad gateway</html>"), None);
}

#[test]
fn offsets_while_stopped_are_readable() {
    let offsets: serde_json::Value = parse("16c-offsets-stopped");
    assert_eq!(offsets["offsets"].as_array().map(Vec::len), Some(3));
}

#[test]
fn config_debug_is_masked() {
    let c = config(&[("aad.auth.appkey", "Sup3r~Secret"), ("topics", "t")]);
    assert_eq!(
        format!("{c:?}"),
        "{\"aad.auth.appkey\": \"****\", \"topics\": \"t\"}"
    );
    assert_eq!(c.get("aad.auth.appkey"), Some("Sup3r~Secret"));
}

#[test]
fn masking_leaves_recorded_traces_and_messages_alone() {
    let masker = Masker::default();
    let mut checked = 0;
    for entry in std::fs::read_dir(fixture_dir()).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let mut texts = Vec::new();
        collect_texts(&value, &mut texts);
        for t in texts {
            assert_eq!(masker.mask_text(&t), t, "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked}");
}

/// Every `trace` and `message` string in a document.
fn collect_texts(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                match x {
                    serde_json::Value::String(s) if k == "trace" || k == "message" => {
                        out.push(s.clone());
                    }
                    _ => collect_texts(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_texts(x, out)),
        _ => {}
    }
}

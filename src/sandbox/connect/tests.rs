//! The Connect sandbox against the recorded responses of a real Connect 4.3 worker: every
//! answer kustoplan relies on has the fixture's status and JSON shape, and the documented
//! Kusto sink rules are applied.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::*;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/connect-4.3")
}

/// A fixture's status and body (`None` when empty).
fn fixture(name: &str) -> (u16, Option<Value>) {
    let dir = fixture_dir();
    let status = std::fs::read_to_string(dir.join(format!("{name}.status")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{e}"));
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{name}: {e}")))
    };
    (
        status.trim().parse().unwrap_or_else(|e| panic!("{e}")),
        body,
    )
}

fn call(
    sb: &ConnectSandbox,
    method: &str,
    path_and_query: &str,
    body: Option<Value>,
) -> (u16, Option<Value>) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let bytes = body
        .map(|b| serde_json::to_vec(&b).expect("json"))
        .unwrap_or_default();
    match sb.handle(RestRequest {
        method,
        path,
        query,
        body: &bytes,
    }) {
        Ok(r) => (r.status, r.body),
        Err(e) => (e.status, Some(e.body())),
    }
}

/// The JSON shape of a value: objects as their keys with the shapes of their values, arrays
/// as the shape of their first element, scalars as their type. Objects under a key named
/// `config`, and the top level when `root_map`, are maps whose keys are data, so only the
/// shape of their values counts.
fn shape(v: &Value, root_map: bool) -> Value {
    fn go(v: &Value, map: bool) -> Value {
        match v {
            Value::Object(o) if map => {
                let first = o.values().next().map_or(Value::Null, |x| go(x, false));
                json!({ "<map>": first })
            }
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    out.insert(k.clone(), go(x, k == "config"));
                }
                Value::Object(out)
            }
            Value::Array(a) => json!([a.first().map_or(Value::Null, |x| go(x, false))]),
            Value::String(_) => json!("string"),
            Value::Number(_) => json!("number"),
            Value::Bool(_) => json!("bool"),
            Value::Null => json!("null"),
        }
    }
    go(v, root_map)
}

fn assert_like(name: &str, got: &(u16, Option<Value>), root_map: bool) {
    let want = fixture(name);
    assert_eq!(got.0, want.0, "{name}: status");
    match (&got.1, &want.1) {
        (None, None) => {}
        (Some(g), Some(w)) => assert_eq!(shape(g, root_map), shape(w, root_map), "{name}: shape"),
        (g, w) => panic!("{name}: body {g:?} vs {w:?}"),
    }
}

pub(crate) fn sink_config(topic: &str) -> BTreeMap<String, String> {
    [
        ("connector.class", KUSTO_SINK_CLASS),
        ("tasks.max", "1"),
        ("topics", topic),
        ("kusto.ingestion.url", "https://ingest-cluster.westeurope.kusto.windows.net"),
        ("kusto.query.url", "https://cluster.westeurope.kusto.windows.net"),
        ("aad.auth.strategy", "application"),
        ("aad.auth.authority", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("aad.auth.appid", "11111111-2222-3333-4444-555555555555"),
        ("aad.auth.appkey", "${env:KUSTO_APPKEY}"),
        (
            "kusto.tables.topics.mapping",
            "[{'topic': 'gameplay','db': 'db', 'table': 'GamePlay','format': 'json', 'mapping':'gameplay_json_mapping'}]",
        ),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("value.converter.schemas.enable", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn cfg_json(c: &BTreeMap<String, String>) -> Option<Value> {
    Some(json!(c))
}

#[test]
fn lifecycle_matches_the_recorded_worker() {
    let sb = ConnectSandbox::in_memory();
    assert_like("01-root", &call(&sb, "GET", "/", None), false);
    assert_like(
        "02-connector-plugins",
        &call(&sb, "GET", "/connector-plugins", None),
        false,
    );
    let config = sink_config("gameplay");
    let created = call(
        &sb,
        "PUT",
        "/connectors/kusto-sink/config",
        cfg_json(&config),
    );
    assert_like("03-put-config-create", &created, false);
    assert_eq!(
        created.1.as_ref().map(|b| b["tasks"].clone()),
        Some(json!([]))
    );
    assert_eq!(
        created.1.as_ref().map(|b| b["config"]["name"].clone()),
        Some(json!("kusto-sink")),
        "Connect adds the name to the config"
    );
    assert_like(
        "04-connectors-expand",
        &call(&sb, "GET", "/connectors?expand=status&expand=info", None),
        true,
    );
    assert_like(
        "05-status",
        &call(&sb, "GET", "/connectors/kusto-sink/status", None),
        false,
    );
    assert_like(
        "05b-connector",
        &call(&sb, "GET", "/connectors/kusto-sink", None),
        false,
    );
    assert_like(
        "05c-config",
        &call(&sb, "GET", "/connectors/kusto-sink/config", None),
        true,
    );
    assert_like(
        "05d-tasks",
        &call(&sb, "GET", "/connectors/kusto-sink/tasks", None),
        false,
    );
    assert_like(
        "05e-topics",
        &call(&sb, "GET", "/connectors/kusto-sink/topics", None),
        true,
    );
    assert_like("05f-list", &call(&sb, "GET", "/connectors", None), false);

    let mut updated = config.clone();
    updated.insert("errors.tolerance".into(), "all".into());
    let put = call(
        &sb,
        "PUT",
        "/connectors/kusto-sink/config",
        cfg_json(&updated),
    );
    assert_like("08-put-config-update", &put, false);
    assert_eq!(
        put.1.as_ref().map(|b| b["tasks"].clone()),
        Some(json!([{ "connector": "kusto-sink", "task": 0 }]))
    );

    assert_like(
        "11-pause",
        &call(&sb, "PUT", "/connectors/kusto-sink/pause", None),
        false,
    );
    let paused = call(&sb, "GET", "/connectors/kusto-sink/status", None);
    assert_like("12-status-paused", &paused, false);
    let states = |s: &(u16, Option<Value>)| {
        let b = s.1.clone().unwrap_or_default();
        let tasks: Vec<Value> = b["tasks"].as_array().cloned().unwrap_or_default();
        (
            b["connector"]["state"].clone(),
            tasks.iter().map(|t| t["state"].clone()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(states(&paused), (json!("PAUSED"), vec![json!("PAUSED")]));
    assert_like(
        "13-resume",
        &call(&sb, "PUT", "/connectors/kusto-sink/resume", None),
        false,
    );
    let resumed = call(&sb, "GET", "/connectors/kusto-sink/status", None);
    assert_like("14-status-resumed", &resumed, false);
    assert_eq!(states(&resumed), (json!("RUNNING"), vec![json!("RUNNING")]));

    assert_like(
        "15-stop",
        &call(&sb, "PUT", "/connectors/kusto-sink/stop", None),
        false,
    );
    let stopped = call(&sb, "GET", "/connectors/kusto-sink/status", None);
    assert_eq!(
        stopped,
        fixture_with_names(&fixture("16-status-stopped"), &sb)
    );
    assert_like(
        "16b-connector-stopped",
        &call(&sb, "GET", "/connectors/kusto-sink", None),
        false,
    );
    assert_like(
        "16d-expand-stopped",
        &call(&sb, "GET", "/connectors?expand=status&expand=info", None),
        true,
    );
    assert_like(
        "17-resume-from-stop",
        &call(&sb, "PUT", "/connectors/kusto-sink/resume", None),
        false,
    );
    assert_like(
        "18-status-after-resume-from-stop",
        &call(&sb, "GET", "/connectors/kusto-sink/status", None),
        false,
    );

    assert_like(
        "19-restart-running-onlyfailed",
        &call(
            &sb,
            "POST",
            "/connectors/kusto-sink/restart?includeTasks=true&onlyFailed=true",
            None,
        ),
        false,
    );
    assert_like(
        "19b-restart-plain",
        &call(&sb, "POST", "/connectors/kusto-sink/restart", None),
        false,
    );
    let restarting = call(
        &sb,
        "POST",
        "/connectors/kusto-sink/restart?includeTasks=true",
        None,
    );
    assert_like("19c-restart-includetasks", &restarting, false);
    assert_eq!(
        states(&restarting),
        (json!("RESTARTING"), vec![json!("RESTARTING")])
    );
    assert_like(
        "19d-status",
        &call(&sb, "GET", "/connectors/kusto-sink/status", None),
        false,
    );

    assert_like(
        "36-delete",
        &call(&sb, "DELETE", "/connectors/kusto-sink", None),
        false,
    );
    let again = call(&sb, "DELETE", "/connectors/kusto-sink", None);
    assert_like("37-delete-again", &again, false);
    assert_eq!(
        again.1,
        Some(json!({"error_code": 404, "message": "Connector kusto-sink not found"}))
    );
    assert_eq!(
        call(&sb, "GET", "/connectors?expand=status&expand=info", None),
        fixture("38-list-after-delete")
    );
    assert_eq!(
        call(&sb, "GET", "/connectors/file-sink/status", None),
        fixture("39-get-after-delete")
    );
    assert_like(
        "40-put-again",
        &call(
            &sb,
            "PUT",
            "/connectors/kusto-sink/config",
            cfg_json(&config),
        ),
        false,
    );
}

/// The fixture with the recorded worker and version replaced by the sandbox's.
fn fixture_with_names(f: &(u16, Option<Value>), _sb: &ConnectSandbox) -> (u16, Option<Value>) {
    let mut body = f.1.clone().unwrap_or_default();
    body["name"] = json!("kusto-sink");
    body["connector"]["worker_id"] = json!("kustoplan-sandbox:8083");
    body["connector"]["version"] = json!(KUSTO_SINK_VERSION);
    (f.0, Some(body))
}

#[test]
fn failed_tasks_restart_only_failed_and_keep_the_trace() {
    let sb = ConnectSandbox::in_memory();
    let mut config = sink_config("gameplay");
    config.insert("tasks.max".into(), "2".into());
    call(&sb, "PUT", "/connectors/k/config", cfg_json(&config));
    assert!(
        sb.fail_task(
            "k",
            0,
            "org.apache.kafka.connect.errors.ConnectException: boom"
        )
        .expect("hook")
    );
    let failed = call(&sb, "GET", "/connectors/k/status", None);
    assert_like("21-status-failed", &failed, false);
    let body = failed.1.expect("body");
    assert_eq!(body["tasks"][1]["state"], "RUNNING");
    assert_eq!(body["tasks"][0]["state"], "FAILED");
    assert_eq!(
        body["tasks"][0]["trace"],
        "org.apache.kafka.connect.errors.ConnectException: boom"
    );
    assert_like(
        "24b-task-status",
        &call(&sb, "GET", "/connectors/k/tasks/0/status", None),
        false,
    );
    let restart = call(
        &sb,
        "POST",
        "/connectors/k/restart?includeTasks=true&onlyFailed=true",
        None,
    );
    assert_like("22-restart-onlyfailed", &restart, false);
    let body = restart.1.expect("body");
    assert_eq!(body["connector"]["state"], "RUNNING");
    assert_eq!(body["tasks"][1]["state"], "RUNNING");
    assert_eq!(body["tasks"][0]["state"], "RESTARTING");
    assert!(body["tasks"][0]["trace"].is_string());
    let after = call(&sb, "GET", "/connectors/k/status", None)
        .1
        .expect("body");
    assert_eq!(after["tasks"][0]["state"], "RUNNING");
    assert!(sb.fail_task("k", 0, "x").expect("hook"));
    assert_like(
        "24-task-restart",
        &call(&sb, "POST", "/connectors/k/tasks/0/restart", None),
        false,
    );
    assert!(!sb.fail_task("k", 2, "x").expect("hook"), "no task 2");
    assert!(!sb.fail_task("nope", 0, "x").expect("hook"));
}

#[test]
fn unknown_connectors_answer_like_connect() {
    let sb = ConnectSandbox::in_memory();
    assert_eq!(
        call(&sb, "GET", "/connectors/kusto-sink", None),
        fixture("31-get-missing")
    );
    assert_eq!(
        call(&sb, "PUT", "/connectors/nope/pause", None),
        fixture("35-pause-missing")
    );
    assert_eq!(
        call(&sb, "GET", "/connectors/nope/status", None),
        fixture("35b-status-missing")
    );
    for (method, path) in [("PUT", "resume"), ("PUT", "stop"), ("POST", "restart")] {
        let (status, _) = call(&sb, method, &format!("/connectors/nope/{path}"), None);
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(call(&sb, "GET", "/nothing/here", None).0, 404);
    assert_eq!(call(&sb, "DELETE", "/connectors", None).0, 405);
}

#[test]
fn put_config_errors_match_the_recorded_messages() {
    let sb = ConnectSandbox::in_memory();
    let mut wrong = sink_config("t");
    wrong.insert("connector.class".into(), "com.example.DoesNotExist".into());
    let got = call(&sb, "PUT", "/connectors/x/config", cfg_json(&wrong));
    assert_like("32-put-missing-class-entirely", &got, false);
    let message = got
        .1
        .as_ref()
        .and_then(|b| b["message"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(message.starts_with(
        "Failed to find any class that implements Connector and which name matches com.example.DoesNotExist, available connectors are: PluginDesc{klass=class com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector"
    ), "{message}");

    let no_class = BTreeMap::from([
        ("name".to_string(), "noclass".to_string()),
        ("topics".to_string(), "sink-in".to_string()),
    ]);
    assert_eq!(
        call(
            &sb,
            "PUT",
            "/connectors/noclass/config",
            cfg_json(&no_class)
        ),
        fixture("33-put-no-class")
    );

    let mut invalid = sink_config("t");
    invalid.insert("tasks.max".into(), "x".into());
    invalid.remove("topics");
    let got = call(&sb, "PUT", "/connectors/x/config", cfg_json(&invalid));
    assert_eq!(
        got,
        fixture("34-put-invalid-config"),
        "same errors as the recorded worker"
    );
    assert!(sb.state().connectors.is_empty(), "nothing written");

    let mismatch = call(
        &sb,
        "PUT",
        "/connectors/a/config",
        Some(json!({"name": "b", "connector.class": KUSTO_SINK_CLASS})),
    );
    assert_eq!(mismatch.0, 400);
}

#[test]
fn validate_matches_the_recorded_shape_and_applies_the_sink_rules() {
    let sb = ConnectSandbox::in_memory();
    let mut ok = sink_config("gameplay");
    ok.insert("name".into(), "v1".into());
    let path = format!("/connector-plugins/{KUSTO_SINK_CLASS}/config/validate");
    let got = call(&sb, "PUT", &path, cfg_json(&ok));
    assert_like("25-validate-ok", &got, false);
    let body = got.1.expect("body");
    assert_eq!(body["error_count"], 0);
    assert_eq!(
        body["groups"],
        json!([
            "Common",
            "Transforms",
            "Predicates",
            "Error Handling",
            "Connection",
            "Write",
            "Error Handling and Retries"
        ])
    );
    let value_of = |body: &Value, key: &str| -> Value {
        body["configs"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["value"]["name"] == key))
            .map(|c| c["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        value_of(&body, "aad.auth.appkey")["value"],
        "[hidden]",
        "PASSWORD values are hidden"
    );
    assert_eq!(
        value_of(&body, "flush.size.bytes")["value"],
        "1048576",
        "defaults are shown"
    );

    // The framework errors of fixture 26, exactly.
    let mut framework_bad = ok.clone();
    framework_bad.insert("tasks.max".into(), "zero".into());
    framework_bad.remove("topics");
    let bad = call(&sb, "PUT", &path, cfg_json(&framework_bad))
        .1
        .expect("body");
    let recorded = fixture("26-validate-bad").1.expect("body");
    assert_eq!(bad["error_count"], recorded["error_count"]);
    for key in ["tasks.max", "topics", "topics.regex"] {
        assert_eq!(value_of(&bad, key), value_of(&recorded, key), "{key}");
    }

    let mut sink_bad = ok.clone();
    sink_bad.remove("kusto.ingestion.url");
    sink_bad.insert(
        "kusto.tables.topics.mapping".into(),
        "[{'topic':'t','db':'db','table':'Game Play'}]".into(),
    );
    sink_bad.insert("aad.auth.strategy".into(), "password".into());
    sink_bad.insert("behavior.on.error".into(), "retry".into());
    sink_bad.insert("flush.size.bytes".into(), "99".into());
    sink_bad.insert("flush.interval.ms".into(), "10".into());
    sink_bad.insert("tasks.max".into(), "0".into());
    let body = call(&sb, "PUT", &path, cfg_json(&sink_bad))
        .1
        .expect("body");
    let errors = |key: &str| value_of(&body, key)["errors"].clone();
    assert_eq!(
        errors("kusto.ingestion.url"),
        json!([
            "Missing required configuration \"kusto.ingestion.url\" which has no default value."
        ])
    );
    assert_eq!(
        errors("kusto.tables.topics.mapping"),
        json!([
            "Invalid value [{'topic':'t','db':'db','table':'Game Play'}] for configuration kusto.tables.topics.mapping: Invalid 'table' value 'Game Play': must match ^[A-Za-z0-9_.-]+$"
        ])
    );
    assert_eq!(
        errors("aad.auth.strategy"),
        json!([
            "Invalid value password for configuration aad.auth.strategy: String must be one of (case insensitive): application, managed_identity, workload_identity, az_dev_token"
        ])
    );
    assert_eq!(
        errors("behavior.on.error"),
        json!([
            "Invalid value retry for configuration behavior.on.error: String must be one of (case insensitive): fail, log, ignore"
        ])
    );
    assert_eq!(
        errors("flush.size.bytes"),
        json!(["Invalid value 99 for configuration flush.size.bytes: Value must be at least 100"])
    );
    assert_eq!(
        errors("flush.interval.ms"),
        json!(["Invalid value 10 for configuration flush.interval.ms: Value must be at least 100"])
    );
    assert_eq!(
        errors("tasks.max"),
        json!(["Invalid value 0 for configuration tasks.max: Value must be at least 1"])
    );
    assert_eq!(body["error_count"], 7);

    let mut creds = ok.clone();
    creds.remove("aad.auth.appkey");
    let body = call(&sb, "PUT", &path, cfg_json(&creds)).1.expect("body");
    assert_eq!(
        value_of(&body, "aad.auth.appkey")["errors"],
        json!(["aad.auth.appkey must be set when aad.auth.strategy is 'application'"])
    );
    creds.insert("aad.auth.strategy".into(), "workload_identity".into());
    let body = call(&sb, "PUT", &path, cfg_json(&creds)).1.expect("body");
    assert_eq!(body["error_count"], 0, "{body}");

    let missing = call(
        &sb,
        "PUT",
        "/connector-plugins/org.example.Nope/config/validate",
        cfg_json(&ok),
    );
    assert_like("29-validate-missing-plugin", &missing, false);
    let alias = call(
        &sb,
        "PUT",
        "/connector-plugins/KustoSinkConnector/config/validate",
        cfg_json(&ok),
    );
    assert_eq!(alias.0, 200);
}

#[test]
fn state_survives_a_restart_of_the_sandbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let sb = ConnectSandbox::open(dir.path()).expect("open");
        call(
            &sb,
            "PUT",
            "/connectors/k/config",
            cfg_json(&sink_config("gameplay")),
        );
        call(&sb, "PUT", "/connectors/k/stop", None);
    }
    let sb = ConnectSandbox::open(dir.path()).expect("reopen");
    let state = sb.state();
    assert_eq!(state.connectors["k"].target, TargetState::Stopped);
    assert_eq!(state.connectors["k"].config["topics"], "gameplay");
    std::fs::write(dir.path().join(STATE_FILE), b"[]").expect("write");
    assert!(
        ConnectSandbox::open(dir.path()).is_err(),
        "a corrupt file is an error"
    );
}

/// KIP-875 as the real worker answers it: offsets can be set only while the connector is
/// stopped (fixture 16c is the shape `GET` returns), they read back and survive a restart, a
/// `null` offset resets its partition, and an empty request is refused.
#[test]
fn offsets_are_altered_only_while_stopped_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, recorded) = fixture("16c-offsets-stopped");
    let recorded = recorded.expect("fixture body");
    {
        let sb = ConnectSandbox::open(dir.path()).expect("open");
        call(
            &sb,
            "PUT",
            "/connectors/k/config",
            cfg_json(&sink_config("sink-in")),
        );
        let (status, body) = call(
            &sb,
            "PATCH",
            "/connectors/k/offsets",
            Some(recorded.clone()),
        );
        assert_eq!(status, 400);
        assert_eq!(
            body.expect("error body")["message"],
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/k/stop' endpoint"
        );
        assert_eq!(
            call(&sb, "GET", "/connectors/k/offsets", None),
            (200, Some(json!({ "offsets": [] })))
        );
        call(&sb, "PUT", "/connectors/k/stop", None);
        let (status, _) = call(
            &sb,
            "PATCH",
            "/connectors/k/offsets",
            Some(recorded.clone()),
        );
        assert_eq!(status, 200);
        assert_eq!(
            call(
                &sb,
                "PATCH",
                "/connectors/k/offsets",
                Some(json!({ "offsets": [] }))
            )
            .0,
            400
        );
        assert_eq!(
            call(
                &sb,
                "PATCH",
                "/connectors/nope/offsets",
                Some(recorded.clone())
            )
            .0,
            404
        );
    }
    let sb = ConnectSandbox::open(dir.path()).expect("reopen");
    let (status, body) = call(&sb, "GET", "/connectors/k/offsets", None);
    assert_eq!(status, 200);
    assert_eq!(body.as_ref(), Some(&recorded));
    let reset = json!({ "offsets": [{
        "partition": { "kafka_topic": "sink-in", "kafka_partition": 1 },
        "offset": null
    }] });
    assert_eq!(
        call(&sb, "PATCH", "/connectors/k/offsets", Some(reset)).0,
        200
    );
    let (_, body) = call(&sb, "GET", "/connectors/k/offsets", None);
    let partitions: Vec<i64> = body.expect("body")["offsets"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["partition"]["kafka_partition"].as_i64())
        .collect();
    assert_eq!(partitions, vec![2, 0]);
}

//! `kustoplan validate --format json`: one JSON document on stdout for machines, with every
//! problem's file, line and column, and no secret value.

fn validate(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = crate::common::cli::command()
        .arg("validate")
        .args(args)
        .args(["--format", "json"])
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (out.status.code().unwrap_or(-1), json, stdout)
}

#[test]
fn a_valid_stack_is_one_json_document() {
    let (code, json, _) = validate(&["examples/gameplay"]);
    assert_eq!(code, 0);
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], true);
    assert_eq!(json["problems"], serde_json::json!([]));
    assert!(
        json["summary"]
            .as_str()
            .is_some_and(|s| s.contains("in 3 files")),
        "{json}"
    );
}

#[test]
fn every_problem_has_its_position_and_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "kind: Table\nname: T\ndatabase: db\ncolumns:\n  - {name: A, type: nosuchtype}\nsurprise: 1\n---\nkind: Sink\nname: s\nconnect: main\nauth:\n  strategy: application\n  app_id: a\n  tenant_id: t\n  app_key: hunter2-literal-secret\nroutes: []\n",
    )
    .expect("write");
    let (code, json, stdout) = validate(&[file.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(json["valid"], false);
    assert_eq!(json["summary"], serde_json::Value::Null);
    let problems = json["problems"].as_array().expect("problems");
    assert!(problems.len() >= 2, "{stdout}");
    for p in problems {
        assert_eq!(p["file"], file.display().to_string(), "{p}");
        assert!(p["line"].as_u64().is_some_and(|l| l > 0), "{p}");
        assert!(p["column"].as_u64().is_some_and(|c| c > 0), "{p}");
        assert!(p["message"].as_str().is_some_and(|m| !m.is_empty()), "{p}");
    }
    assert!(
        problems.iter().any(|p| p["line"] == 6),
        "the unknown key on line 6 is reported: {stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

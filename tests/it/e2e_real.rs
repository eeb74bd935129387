//! kustoplan end to end against the real components: Kafka topics on a real Kafka-protocol
//! broker (tansu), the Kusto sink connector in a real Kafka Connect worker (with the stand-in
//! plugin), and Kusto on the sandbox server over HTTP. Plan, apply, no-drift re-plan, a state
//! change, and cleanup.

use crate::common;

use common::real_env::{gameplay_copy_unique, gameplay_targets, kustoplan_with_vars, real_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_converge_on_real_kafka_and_connect() {
    let Some(env) = real_env("plan_apply_converge_on_real_kafka_and_connect") else {
        return;
    };
    let suffix = format!("e2e{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique(stack.path(), &suffix, "not-a-real-key");
    let (kusto, vars) = gameplay_targets(&env, None).await;
    let sink = format!("gameplay-sink-{suffix}");

    let plan = kustoplan_with_vars(stack.path(), &vars, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    plan.assert_stdout_contains(&format!("  + kafka.topic.gameplay-{suffix}\n"));
    plan.assert_stdout_contains(&format!("  + connect.main.connector.{sink}\n"));

    let apply = kustoplan_with_vars(stack.path(), &vars, &["apply", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .ends_with("Apply complete: 6 changes applied in 3 requests.\n"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stderr.contains("to reach their declared state"),
        "{}",
        apply.stderr
    );

    let status: serde_json::Value =
        reqwest::get(format!("{}/connectors/{sink}/status", env.connect_url))
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
    assert_eq!(
        status["tasks"][0]["state"], "RUNNING",
        "apply waited for the task: {status}"
    );

    let again = kustoplan_with_vars(stack.path(), &vars, &["plan", "--detailed-exitcode"]).await;
    again.assert_no_changes_because("no false drift against a real Connect worker and broker");

    let kafka_yaml = stack.path().join("kafka.yaml");
    let text = std::fs::read_to_string(&kafka_yaml).expect("read");
    std::fs::write(
        &kafka_yaml,
        text.replace("tasks_max: 1\n", "tasks_max: 1\nstate: paused\n"),
    )
    .expect("write");
    let pause = kustoplan_with_vars(
        stack.path(),
        &vars,
        &["apply", "--auto-approve", "--allow", "restart"],
    )
    .await;
    assert_eq!(pause.code, 0, "{}{}", pause.stdout, pause.stderr);
    pause.assert_stdout_contains(&format!("PUT /connectors/{sink}/pause"));
    let paused = kustoplan_with_vars(stack.path(), &vars, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(paused.code, 0, "{}{}", paused.stdout, paused.stderr);

    let deleted = reqwest::Client::new()
        .delete(format!("{}/connectors/{sink}", env.connect_url))
        .send()
        .await
        .expect("cleanup");
    assert_eq!(deleted.status().as_u16(), 204);
    kusto.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_reports_a_failed_task_with_its_trace() {
    let Some(env) = real_env("apply_reports_a_failed_task_with_its_trace") else {
        return;
    };
    let suffix = format!("fail{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique(stack.path(), &suffix, "not-a-real-key");
    let stack_yaml = stack.path().join("stack.yaml");
    let text = std::fs::read_to_string(&stack_yaml).expect("read");
    std::fs::write(
        &stack_yaml,
        text.replace(
            "    cluster: ${var.kusto_cluster}\n",
            "    cluster: ${var.kusto_cluster}\n    ingest: https://fail.invalid\n",
        ),
    )
    .expect("write");
    let (kusto, vars) = gameplay_targets(&env, None).await;
    let sink = format!("gameplay-sink-{suffix}");
    let apply = kustoplan_with_vars(stack.path(), &vars, &["apply", "--auto-approve"]).await;
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    let line = apply
        .stdout
        .lines()
        .find(|l| l.contains(&format!("connect.main.connector.{sink}: connector is")))
        .unwrap_or_else(|| panic!("no failure line: {}", apply.stdout));
    assert!(line.contains("FAILED"), "{line}");
    assert!(
        line.contains("task 0 FAILED"),
        "the task's trace is reported: {line}"
    );
    assert!(
        !apply.stdout.contains("not-a-real-key"),
        "secrets stay masked"
    );
    reqwest::Client::new()
        .delete(format!("{}/connectors/{sink}", env.connect_url))
        .send()
        .await
        .expect("cleanup");
    kusto.shutdown().await;
}

/// The committed offsets of a connector, as `(topic, partition, offset)` sorted.
async fn committed(connect_url: &str, connector: &str) -> (u16, Vec<(String, i64, i64)>) {
    let resp = reqwest::get(format!("{connect_url}/connectors/{connector}/offsets"))
        .await
        .expect("GET offsets");
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let mut out: Vec<(String, i64, i64)> = body["offsets"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|o| {
                    Some((
                        o["partition"]["kafka_topic"].as_str()?.to_string(),
                        o["partition"]["kafka_partition"].as_i64()?,
                        o["offset"]["kafka_offset"].as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    (status, out)
}

/// Produces `n` records to partition 0 of `topic`, key and value JSON (the gameplay sink's
/// converters).
async fn produce(bootstrap: &str, topic: &str, n: usize) {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "15000")
        .create()
        .expect("producer");
    for i in 0..n {
        let payload = format!(
            r#"{{"playerId":{i},"gameId":1,"win":1,"score":7,"eventTime":"2026-12-05T10:00:00Z"}}"#
        );
        producer
            .send(
                FutureRecord::to(topic)
                    .partition(0)
                    .key(r#""k""#)
                    .payload(&payload),
                std::time::Duration::from_secs(15),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
    }
}

/// A sink renamed with `renamed_from` on the real worker: the plan says it moves the connector
/// with its offsets; apply stops the old one, creates the new one stopped, copies the consumer
/// offsets (KIP-875) and deletes the old one. Declared stopped, the new connector has never
/// consumed, so the offsets it holds can only be the copy; started, it goes on from there (so
/// nothing is ingested twice) and the next plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_sink_carries_its_offsets_on_real_connect() {
    const TEST: &str = "a_renamed_sink_carries_its_offsets_on_real_connect";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let suffix = format!("mv{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique(stack.path(), &suffix, "not-a-real-key");
    let (kusto, vars) = gameplay_targets(&env, Some(&azurite)).await;
    let old = format!("gameplay-sink-{suffix}");
    let new = format!("{old}-v2");

    let apply = kustoplan_with_vars(stack.path(), &vars, &["apply", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    produce(&env.bootstrap, &format!("gameplay-{suffix}"), 5).await;
    // The example flushes every 30 s (the sink's default); then the offsets are committed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let before = loop {
        let (_, offsets) = committed(&env.connect_url, &old).await;
        if offsets.iter().any(|(_, p, o)| *p == 0 && *o == 5) {
            break offsets;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{old} did not commit offset 5 of partition 0: {offsets:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };

    let kafka_yaml = stack.path().join("kafka.yaml");
    let text = std::fs::read_to_string(&kafka_yaml).expect("read");
    std::fs::write(
        &kafka_yaml,
        text.replace(
            &format!("name: {old}\n"),
            &format!("name: {new}\nrenamed_from: {old}\n"),
        )
        .replace("tasks_max: 1\n", "tasks_max: 1\nstate: stopped\n"),
    )
    .expect("write");
    let plan = kustoplan_with_vars(stack.path(), &vars, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    plan.assert_stdout_contains(&format!(
        "rename connector {old} to {new}, carrying its consumer offsets over"
    ));
    assert!(
        !plan
            .stdout
            .contains(&format!("- connect.main.connector.{old}")),
        "the old connector is moved, not deleted on its own: {}",
        plan.stdout
    );

    let apply = kustoplan_with_vars(
        stack.path(),
        &vars,
        &["apply", "--auto-approve", "--allow", "restart"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert_eq!(
        committed(&env.connect_url, &old).await.0,
        404,
        "the old connector is deleted"
    );
    // Declared stopped, the new connector has never consumed: its offsets are the copy.
    assert_eq!(
        committed(&env.connect_url, &new).await,
        (200, before.clone()),
        "the new connector starts where the old one stopped"
    );
    let text = std::fs::read_to_string(&kafka_yaml).expect("read");
    std::fs::write(&kafka_yaml, text.replace("state: stopped\n", "")).expect("write");
    let resume = kustoplan_with_vars(
        stack.path(),
        &vars,
        &["apply", "--auto-approve", "--allow", "restart"],
    )
    .await;
    assert_eq!(resume.code, 0, "{}{}", resume.stdout, resume.stderr);
    let status: serde_json::Value =
        reqwest::get(format!("{}/connectors/{new}/status", env.connect_url))
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");

    let again = kustoplan_with_vars(stack.path(), &vars, &["plan", "--detailed-exitcode"]).await;
    again.assert_no_changes();
    reqwest::Client::new()
        .delete(format!("{}/connectors/{new}", env.connect_url))
        .send()
        .await
        .expect("cleanup");
    kusto.shutdown().await;
}

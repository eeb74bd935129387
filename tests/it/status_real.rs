//! `kustoplan status` against the real components: the sink's consumer-group lag read from a
//! real Kafka-protocol broker (tansu) while a real Kafka Connect worker runs (or pauses, or
//! fails) the Kusto sink stand-in; Kusto on the sandbox server over HTTP.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::real_env::{
    RealEnv, gameplay_copy_unique, gameplay_targets, kustoplan_with_vars, real_env,
};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

/// How long the stand-in may take to consume, ship (the example flushes every 30 s, the sink's
/// default) and Connect to commit (offset.flush.interval.ms is 1 s in scripts/test-env;
/// rebalances on a 2-core machine are slow).
const CONSUME_TIMEOUT: Duration = Duration::from_secs(180);

/// The secret the connector's `${file:...}` placeholder resolves to on the worker.
const SECRET: &str = "not-a-real-key-s3cr3t";

async fn status_json(stack: &Path, vars: &[String]) -> (i32, Value) {
    let run = kustoplan_with_vars(stack, vars, &["status", "--format", "json"]).await;
    let value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("status JSON: {e}\n{}{}", run.stdout, run.stderr));
    (run.code, value)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

/// Produces `counts[p]` JSON records (JSON keys too: the key converter is JSON) to partition
/// `p` of `topic`.
async fn produce(bootstrap: &str, topic: &str, counts: &[usize]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "15000")
        .create()
        .expect("producer");
    for (partition, n) in counts.iter().enumerate() {
        for i in 0..*n {
            let payload = format!(r#"{{"playerId":{i},"gameId":1,"win":1,"score":7}}"#);
            producer
                .send(
                    FutureRecord::to(topic)
                        .partition(i32::try_from(partition).expect("partition"))
                        .key(r#""k""#)
                        .payload(&payload),
                    Duration::from_secs(15),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
        }
    }
}

async fn delete_connector(env: &RealEnv, name: &str) {
    reqwest::Client::new()
        .delete(format!("{}/connectors/{name}", env.connect_url))
        .send()
        .await
        .expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_exact_lag_while_paused_and_zero_after_the_sink_consumed() {
    const TEST: &str = "status_reports_exact_lag_while_paused_and_zero_after_the_sink_consumed";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let suffix = format!("lag{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique(stack.path(), &suffix, SECRET);
    let kafka_yaml = stack.path().join("kafka.yaml");
    let (kusto, vars) = gameplay_targets(&env, Some(&azurite)).await;
    let sink = format!("gameplay-sink-{suffix}");
    let topic = format!("gameplay-{suffix}");

    // Created running on an empty topic, then paused, as a pipeline owner would.
    let apply = kustoplan_with_vars(stack.path(), &vars, &["apply", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    edit(
        &kafka_yaml,
        "tasks_max: 1\n",
        "tasks_max: 1\nstate: paused\n",
    );
    let pause = kustoplan_with_vars(
        stack.path(),
        &vars,
        &["apply", "--auto-approve", "--allow", "restart"],
    )
    .await;
    assert_eq!(pause.code, 0, "{}{}", pause.stdout, pause.stderr);

    let per_partition = [3usize, 0, 5, 1];
    produce(&env.bootstrap, &topic, &per_partition).await;

    let (code, status) = status_json(stack.path(), &vars).await;
    assert_eq!(code, 0, "declared paused and paused is healthy: {status:#}");
    assert_eq!(status["health"], "healthy", "{status:#}");
    let connector = &status["connectors"][0];
    assert_eq!(connector["name"], sink.as_str());
    assert_eq!(connector["state"], "PAUSED", "{status:#}");
    assert_eq!(connector["group"], format!("connect-{sink}"));
    let lag = &connector["routes"][0]["lag"];
    assert_eq!(connector["routes"][0]["topic"], topic.as_str());
    assert_eq!(lag["available"], true, "{lag:#}");
    assert_eq!(lag["total"], 9, "{lag:#}");
    let partitions = lag["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 4, "{lag:#}");
    for (p, n) in partitions.iter().zip(per_partition) {
        assert_eq!(p["lag"], n, "{p}");
        assert_eq!(p["high_watermark"], n, "{p}");
        assert!(
            p["committed"] == Value::Null || p["committed"] == 0,
            "nothing consumed yet: {p}"
        );
    }
    let text = kustoplan_with_vars(stack.path(), &vars, &["status"]).await;
    assert_eq!(text.code, 0, "{}{}", text.stdout, text.stderr);
    text.assert_stdout_contains(&format!(
        "  route {topic} -> gamedb.GamePlay (group connect-{sink}): lag 9\n"
    ));
    assert!(
        text.stdout.contains("    partition 2: lag 5 (")
            && text
                .stdout
                .contains(", high watermark 5, low watermark 0)\n"),
        "{}",
        text.stdout
    );

    edit(&kafka_yaml, "state: paused\n", "");
    let resume = kustoplan_with_vars(
        stack.path(),
        &vars,
        &["apply", "--auto-approve", "--allow", "restart"],
    )
    .await;
    assert_eq!(resume.code, 0, "{}{}", resume.stdout, resume.stderr);

    let started = Instant::now();
    let consumed = loop {
        let (code, status) = status_json(stack.path(), &vars).await;
        let lag = status["connectors"][0]["routes"][0]["lag"].clone();
        let committed_everywhere = lag["partitions"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["committed"] == p["high_watermark"]));
        if code == 0 && lag["total"] == 0 && committed_everywhere {
            break status;
        }
        assert!(
            started.elapsed() < CONSUME_TIMEOUT,
            "the sink did not consume and commit in time: {status:#}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let connector = &consumed["connectors"][0];
    assert_eq!(connector["state"], "RUNNING", "{consumed:#}");
    assert_eq!(connector["tasks"][0]["state"], "RUNNING", "{consumed:#}");
    for (p, n) in connector["routes"][0]["lag"]["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .zip(per_partition)
    {
        assert_eq!(p["committed"], n, "{p}");
        assert_eq!(p["lag"], 0, "{p}");
    }

    delete_connector(&env, &sink).await;
    kusto.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_failed_task_with_its_error_and_exits_3() {
    let Some(env) = real_env("status_shows_a_failed_task_with_its_error_and_exits_3") else {
        return;
    };
    let suffix = format!("stfail{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique(stack.path(), &suffix, SECRET);
    edit(
        &stack.path().join("stack.yaml"),
        "    cluster: ${var.kusto_cluster}\n",
        "    cluster: ${var.kusto_cluster}\n    ingest: https://fail.invalid\n",
    );
    let (kusto, vars) = gameplay_targets(&env, None).await;
    let sink = format!("gameplay-sink-{suffix}");
    let apply = kustoplan_with_vars(stack.path(), &vars, &["apply", "--auto-approve"]).await;
    assert_eq!(
        apply.code, 1,
        "the task fails: {}{}",
        apply.stdout, apply.stderr
    );

    let text = kustoplan_with_vars(stack.path(), &vars, &["status"]).await;
    assert_eq!(text.code, 3, "{}{}", text.stdout, text.stderr);
    text.assert_stdout_contains("  task 0: FAILED on ");
    text.assert_stdout_contains(
        "    error: org.apache.kafka.connect.errors.ConnectException: Kusto sink stand-in: \
             failing on purpose because kusto.ingestion.url points at host fail.invalid\n",
    );
    assert!(
        !text.stdout.contains("\tat "),
        "only the first line of the trace: {}",
        text.stdout
    );
    assert!(
        text.stdout
            .ends_with("Status: 0 healthy, 0 degraded, 1 failed.\n")
    );

    let (code, status) = status_json(stack.path(), &vars).await;
    assert_eq!(code, 3);
    assert_eq!(status["health"], "failed");
    let task = &status["connectors"][0]["tasks"][0];
    assert_eq!(task["state"], "FAILED", "{status:#}");
    assert!(
        task["error"]
            .as_str()
            .is_some_and(|e| e.contains("fail.invalid")),
        "{status:#}"
    );
    let lag = &status["connectors"][0]["routes"][0]["lag"];
    assert_eq!(lag["available"], true, "{lag:#}");
    assert_eq!(lag["total"], 0, "an empty topic: {lag:#}");

    for out in [&text.stdout, &text.stderr, &status.to_string()] {
        assert!(!out.contains(SECRET), "no secret in the output: {out}");
    }

    delete_connector(&env, &sink).await;
    kusto.shutdown().await;
}

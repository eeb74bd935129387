//! The Kafka provider against a real Kafka-protocol broker: tansu 0.6.0 on loopback, one fresh
//! in-memory broker per test. Without the tansu binary the tests are skipped loudly (and fail
//! under `CI=true`); `scripts/test-env up` installs it.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kustoplan::model::connect::Topic;
use kustoplan::providers::kafka::{
    AdminTimeouts, ClientSettings, ConfigChange, ConfigFilter, KafkaAdmin, KafkaError,
    PartitionIncrease, TopicErrorKind, TopicOutcome,
};

const TANSU_VERSION: &str = "0.6.0";

/// Where tansu may be: `KUSTOPLAN_TANSU`, the tool cache `scripts/test-env` fills, then `PATH`.
fn tansu_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUSTOPLAN_TANSU") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let tools = std::env::var_os("KUSTOPLAN_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("kustoplan").join("tools"))
        });
    let mut candidates = Vec::new();
    if let Some(tools) = tools {
        candidates.push(tools.join(format!("tansu-{TANSU_VERSION}/bin/tansu")));
        candidates.push(tools.join("bin/tansu"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("tansu")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// A tansu process, killed when the guard is dropped (also when the test panics).
struct Broker {
    child: Child,
    bootstrap: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A Metadata v0 request over a raw socket: true once the broker answers with our correlation
/// id. Independent of librdkafka, so a readiness problem is not confused with a client one.
fn answers_metadata(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let client = b"kustoplan-test";
    let mut body = Vec::new();
    body.extend_from_slice(&3i16.to_be_bytes()); // api key: Metadata
    body.extend_from_slice(&0i16.to_be_bytes()); // version 0
    body.extend_from_slice(&4242i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&(client.len() as i16).to_be_bytes());
    body.extend_from_slice(client);
    body.extend_from_slice(&0i32.to_be_bytes()); // no topics
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    if s.write_all(&frame).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    let ok = s.read_exact(&mut head).is_ok()
        && i32::from_be_bytes([head[4], head[5], head[6], head[7]]) == 4242;
    let _ = s.shutdown(Shutdown::Both);
    ok
}

/// Starts tansu on a free loopback port and waits until it answers, or returns `None` after a
/// loud skip notice when the binary is missing (a failure under `CI=true`).
fn start_broker(test: &str) -> Option<Broker> {
    let Some(bin) = tansu_binary() else {
        assert!(
            !common::in_ci(),
            "{test}: the tansu {TANSU_VERSION} binary is required in CI (CI=true); run `scripts/test-env up` or set KUSTOPLAN_TANSU"
        );
        common::skip_loudly(&format!(
            "SKIPPED {test}: tansu {TANSU_VERSION} is not installed (`scripts/test-env up` installs it)"
        ));
        return None;
    };
    for _attempt in 0..3 {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut broker = Broker {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if answers_metadata(port) {
                return Some(broker);
            }
            if let Ok(Some(_)) = broker.child.try_wait() {
                break; // lost the port race: try another one
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("{test}: tansu did not answer a metadata request within 30 s");
}

/// Short timeouts: tansu answers in milliseconds, and a test must not wait 15 s to learn that
/// an operation is unsupported.
fn timeouts() -> AdminTimeouts {
    AdminTimeouts {
        request: Duration::from_secs(5),
        operation: Duration::from_secs(5),
    }
}

fn admin(broker: &Broker) -> KafkaAdmin {
    KafkaAdmin::new(&ClientSettings::plaintext(&broker.bootstrap), timeouts()).expect("admin")
}

/// tansu 0.6 reports exactly the configs set on a topic, but labelled as defaults
/// (`is_default`, source `DEFAULT_CONFIG`): reading them needs [`ConfigFilter::AllReported`].
fn admin_reading_all(broker: &Broker) -> KafkaAdmin {
    admin(broker).with_config_filter(ConfigFilter::AllReported)
}

fn topic(name: &str, partitions: u32, configs: &[(&str, &str)]) -> Topic {
    Topic {
        name: name.into(),
        partitions,
        replication_factor: None,
        configs: configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn kinds(outcomes: &[TopicOutcome]) -> BTreeMap<String, Option<TopicErrorKind>> {
    outcomes
        .iter()
        .map(|o| (o.topic.clone(), o.result.as_ref().err().map(|e| e.kind)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_three_topics_in_one_request_and_observes_them() {
    let Some(broker) = start_broker("creates_three_topics_in_one_request_and_observes_them") else {
        return;
    };
    let admin = admin(&broker);
    let wanted = [
        topic("gameplay", 4, &[("retention.ms", "86400000")]),
        topic("scores", 1, &[]),
        topic("dlq", 2, &[("cleanup.policy", "compact")]),
    ];
    let started = Instant::now();
    let outcomes = admin.create_topics(&wanted).await.expect("create");
    eprintln!("CreateTopics x3: {:?}", started.elapsed());
    assert_eq!(
        kinds(&outcomes),
        BTreeMap::from([
            ("dlq".to_string(), None),
            ("gameplay".to_string(), None),
            ("scores".to_string(), None)
        ])
    );
    assert_eq!(
        admin.requests(),
        1,
        "one CreateTopics request for three topics"
    );

    let started = Instant::now();
    let seen = admin
        .observe(&names(&["gameplay", "scores", "dlq", "absent"]))
        .await
        .expect("observe");
    eprintln!("observe x4: {:?}", started.elapsed());
    assert_eq!(
        admin.requests(),
        3,
        "observe is one Metadata + one DescribeConfigs"
    );
    eprintln!("observed: {seen:#?}");
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        ["dlq", "gameplay", "scores"]
    );
    for want in &wanted {
        let have = &seen[&want.name];
        assert_eq!(have.partitions, want.partitions, "{}", want.name);
        assert_eq!(
            have.replication_factor,
            Some(1),
            "broker default for {}",
            want.name
        );
        // tansu labels the topic's own configs as defaults, so the strict filter (right for
        // Kafka) keeps none of them. If this starts failing, tansu reports configs properly.
        assert_eq!(have.configs, BTreeMap::new(), "{}", want.name);
    }

    let all = admin_reading_all(&broker);
    let seen = all
        .observe(&names(&["gameplay", "scores", "dlq"]))
        .await
        .expect("observe");
    assert_eq!(all.requests(), 2);
    let expected: BTreeMap<String, Topic> = wanted
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.replication_factor = Some(1);
            (t.name.clone(), t)
        })
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_costs_the_same_for_3_and_30_topics() {
    let Some(broker) = start_broker("observe_costs_the_same_for_3_and_30_topics") else {
        return;
    };
    let admin = admin(&broker);
    let all: Vec<Topic> = (0..30)
        .map(|i| topic(&format!("t{i:02}"), 1 + i % 3, &[]))
        .collect();
    let outcomes = admin.create_topics(&all).await.expect("create");
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(outcomes.len(), 30);
    assert_eq!(admin.requests(), 1);

    let three: Vec<String> = all.iter().take(3).map(|t| t.name.clone()).collect();
    let thirty: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
    let before = admin.requests();
    let started = Instant::now();
    let seen = admin.observe(&three).await.expect("observe 3");
    let t3 = started.elapsed();
    let cost3 = admin.requests() - before;
    assert_eq!(seen.len(), 3);

    let before = admin.requests();
    let started = Instant::now();
    let seen = admin.observe(&thirty).await.expect("observe 30");
    let t30 = started.elapsed();
    let cost30 = admin.requests() - before;
    assert_eq!(seen.len(), 30);
    for t in &all {
        assert_eq!(seen[&t.name].partitions, t.partitions, "{}", t.name);
    }
    eprintln!(
        "observe: 3 topics {cost3} requests in {t3:?}; 30 topics {cost30} requests in {t30:?}"
    );
    assert_eq!((cost3, cost30), (2, 2), "constant number of admin requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_topic_fails_alone() {
    let Some(broker) = start_broker("an_existing_topic_fails_alone") else {
        return;
    };
    let admin = admin(&broker);
    let first = admin
        .create_topics(&[topic("orders", 2, &[])])
        .await
        .expect("create");
    assert_eq!(
        kinds(&first),
        BTreeMap::from([("orders".to_string(), None)])
    );
    let second = admin
        .create_topics(&[topic("orders", 5, &[]), topic("payments", 1, &[])])
        .await
        .expect("create again");
    assert_eq!(
        kinds(&second),
        BTreeMap::from([
            ("orders".to_string(), Some(TopicErrorKind::AlreadyExists)),
            ("payments".to_string(), None)
        ])
    );
    let failed = second
        .iter()
        .find(|o| o.topic == "orders")
        .and_then(|o| o.result.as_ref().err())
        .expect("orders failed");
    eprintln!("re-create: {}", failed.message);
    assert!(
        failed.message.contains("already exists"),
        "{}",
        failed.message
    );
    let seen = admin
        .observe(&names(&["orders", "payments"]))
        .await
        .expect("observe");
    assert_eq!(
        seen["orders"].partitions, 2,
        "the failed re-create changed nothing"
    );
    assert_eq!(seen["payments"].partitions, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_on_tansu_is_a_clear_unsupported_error_not_a_hang() {
    let Some(broker) =
        start_broker("create_partitions_on_tansu_is_a_clear_unsupported_error_not_a_hang")
    else {
        return;
    };
    let admin = admin(&broker);
    admin
        .create_topics(&[topic("grow", 1, &[])])
        .await
        .expect("create");
    let started = Instant::now();
    let result = admin
        .create_partitions(&[PartitionIncrease {
            topic: "grow".into(),
            total: 3,
        }])
        .await;
    let elapsed = started.elapsed();
    eprintln!("CreatePartitions on tansu: {elapsed:?} -> {result:?}");
    let message = match &result {
        Err(e @ KafkaError::Unsupported { operation, .. }) => {
            assert_eq!(*operation, "CreatePartitions");
            e.to_string()
        }
        Ok(outcomes) => {
            let e = outcomes[0].result.as_ref().expect_err("unsupported");
            assert_eq!(e.kind, TopicErrorKind::Unsupported, "{e}");
            e.message.clone()
        }
        Err(other) => panic!("expected an unsupported error, got: {other}"),
    };
    assert!(
        message.contains("the broker does not support CreatePartitions"),
        "{message}"
    );
    assert!(
        elapsed < timeouts().request + Duration::from_secs(3),
        "bounded by the request timeout: {elapsed:?}"
    );
    let seen = admin.observe(&names(&["grow"])).await.expect("observe");
    assert_eq!(seen["grow"].partitions, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_configs_sets_and_deletes_only_the_named_keys() {
    let Some(broker) = start_broker("alter_configs_sets_and_deletes_only_the_named_keys") else {
        return;
    };
    let admin = admin_reading_all(&broker);
    admin
        .create_topics(&[topic(
            "events",
            1,
            &[("retention.ms", "3600000"), ("cleanup.policy", "delete")],
        )])
        .await
        .expect("create");
    let started = Instant::now();
    let result = admin
        .alter_configs(&[ConfigChange {
            topic: "events".into(),
            set: BTreeMap::from([("max.message.bytes".to_string(), "2000000".to_string())]),
            delete: vec!["retention.ms".into()],
        }])
        .await;
    eprintln!(
        "IncrementalAlterConfigs on tansu: {:?} -> {result:?}",
        started.elapsed()
    );
    let outcomes = result.expect("IncrementalAlterConfigs");
    assert_eq!(
        admin.requests(),
        2,
        "one CreateTopics, one IncrementalAlterConfigs"
    );
    assert_eq!(
        kinds(&outcomes),
        BTreeMap::from([("events".to_string(), None)])
    );
    let seen = admin.observe(&names(&["events"])).await.expect("observe");
    eprintln!("after alter: {:?}", seen["events"].configs);
    assert_eq!(
        seen["events"].configs,
        BTreeMap::from([
            ("cleanup.policy".to_string(), "delete".to_string()),
            ("max.message.bytes".to_string(), "2000000".to_string()),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_broker_is_a_bounded_error() {
    // No tansu needed: nothing listens on this port.
    let port = free_port();
    let admin = KafkaAdmin::new(
        &ClientSettings::plaintext(&format!("127.0.0.1:{port}")),
        AdminTimeouts {
            request: Duration::from_secs(2),
            operation: Duration::from_secs(2),
        },
    )
    .expect("admin");
    assert_eq!(
        admin.observe(&[]).await.expect("nothing to observe"),
        BTreeMap::new()
    );
    assert_eq!(admin.requests(), 0, "no topics, no request");
    let started = Instant::now();
    let err = admin.observe(&names(&["x"])).await.expect_err("no broker");
    let elapsed = started.elapsed();
    eprintln!("dead broker: {elapsed:?} -> {err}");
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    let started = Instant::now();
    let err = admin
        .create_topics(&[topic("x", 1, &[])])
        .await
        .expect_err("no broker");
    eprintln!("dead broker create: {:?} -> {err}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(
        matches!(
            err,
            KafkaError::TimedOut {
                operation: "CreateTopics",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_outcome_unknown());
}

/// The same plan operations through [`KafkaBroker`] on a broker: one request per kind of
/// operation, a result per operation, and CreatePartitions (unsupported by tansu) stops the
/// apply with the clear error and lists what did not run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_operations_through_the_transport() {
    use kustoplan::plan::Operation;
    use kustoplan::providers::kafka::apply::execute;
    use kustoplan::providers::kafka::{KafkaBackend, KafkaBroker};

    let Some(broker) = start_broker("plan_operations_through_the_transport") else {
        return;
    };
    let transport = KafkaBroker::new(admin_reading_all(&broker));
    let mut pinned = topic("pinned", 2, &[("retention.ms", "1000")]);
    pinned.replication_factor = Some(1);
    let ops = vec![
        Operation::CreateTopic { topic: pinned },
        Operation::CreateTopic {
            topic: topic("loose", 1, &[]),
        },
    ];
    let report = execute(&transport, &ops).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(transport.requests(), 1);

    let ops = vec![
        Operation::AlterTopicConfigs {
            topic: "pinned".into(),
            configs: BTreeMap::from([
                ("retention.ms".to_string(), None),
                ("cleanup.policy".to_string(), Some("compact".to_string())),
            ]),
        },
        Operation::CreatePartitions {
            topic: "loose".into(),
            total: 3,
        },
    ];
    let report = execute(&transport, &ops).await;
    assert_eq!(
        transport.requests(),
        2,
        "the alter was not sent after the failure"
    );
    assert!(report.ran.is_empty(), "{report:?}");
    let error = report.error.as_ref().expect("unsupported");
    assert!(
        error
            .to_string()
            .starts_with("the broker does not support CreatePartitions"),
        "{error}"
    );
    assert_eq!(
        report.not_run,
        ops[1..]
            .iter()
            .chain(&ops[..1])
            .cloned()
            .collect::<Vec<_>>()
    );

    let report = execute(&transport, &ops[..1]).await;
    assert!(report.succeeded(), "{report:?}");
    let seen = transport
        .observe(&names(&["pinned", "loose"]))
        .await
        .expect("observe");
    assert_eq!(
        seen["pinned"].configs,
        BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())])
    );
    assert_eq!(seen["pinned"].replication_factor, Some(1));
    assert_eq!(seen["loose"].partitions, 1);
}

/// The SASL password, read from its variable, appears in no error or debug output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sasl_password_never_appears_in_errors() {
    use kustoplan::model::auth::SecretRef;
    use kustoplan::model::kafka_target::{KafkaConnection, KafkaProtocol, SaslMechanism};
    const SECRET: &str = "pw-7f3a9c-never-print-me";
    let port = free_port();
    let target = KafkaConnection {
        bootstrap_servers: format!("127.0.0.1:{port}"),
        protocol: KafkaProtocol::SaslPlaintext,
        sasl_mechanism: Some(SaslMechanism::ScramSha256),
        username: Some("svc".into()),
        password: Some(SecretRef::Env {
            env: "KUSTOPLAN_TEST_KAFKA_PW".into(),
        }),
        ..KafkaConnection::default()
    };
    let settings = ClientSettings::from_target_with(&target, |name| {
        (name == "KUSTOPLAN_TEST_KAFKA_PW").then(|| SECRET.to_string())
    })
    .expect("settings");
    let admin = KafkaAdmin::new(
        &settings,
        AdminTimeouts {
            request: Duration::from_secs(1),
            operation: Duration::from_secs(1),
        },
    )
    .expect("admin");
    let errors = [
        admin.observe(&names(&["t"])).await.expect_err("dead"),
        admin
            .create_topics(&[topic("t", 1, &[])])
            .await
            .expect_err("dead"),
    ];
    let text = format!(
        "{errors:?} {} {} {settings:?} {admin:?}",
        errors[0], errors[1]
    );
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        text.contains("****"),
        "the masked password is shown as ****: {text}"
    );
}

/// A broker that accepts connections but never answers (hung process, wrong service on the
/// port): every call ends within its limit instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_broker_is_a_bounded_error() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn); // keep it open, say nothing
        }
    });
    let limits = AdminTimeouts {
        request: Duration::from_secs(2),
        operation: Duration::from_secs(2),
    };
    let admin = KafkaAdmin::new(
        &ClientSettings::plaintext(&format!("127.0.0.1:{port}")),
        limits,
    )
    .expect("admin");
    let bound = limits.request + Duration::from_secs(4);
    let started = Instant::now();
    let observed = admin.observe(&names(&["t"])).await;
    let t_observe = started.elapsed();
    let started = Instant::now();
    let grown = admin
        .create_partitions(&[PartitionIncrease {
            topic: "t".into(),
            total: 2,
        }])
        .await;
    let t_grow = started.elapsed();
    let started = Instant::now();
    let altered = admin
        .alter_configs(&[ConfigChange {
            topic: "t".into(),
            set: BTreeMap::from([("retention.ms".to_string(), "1".to_string())]),
            delete: vec![],
        }])
        .await;
    let t_alter = started.elapsed();
    eprintln!(
        "silent broker: observe {t_observe:?} {observed:?}\n grow {t_grow:?} {grown:?}\n alter {t_alter:?} {altered:?}"
    );
    assert!(observed.is_err() && grown.is_err() && altered.is_err());
    assert!(t_observe < bound && t_grow < bound && t_alter < bound);
    for e in [grown.expect_err("grow"), altered.expect_err("alter")] {
        assert!(e.is_outcome_unknown(), "{e}");
    }
}

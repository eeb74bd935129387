//! The real Kafka-protocol broker and Kafka Connect worker started by `scripts/test-env up`.
//!
//! ```ignore
//! mod common;
//! use common::real_env::real_env;
//!
//! #[tokio::test]
//! async fn something_against_real_connect() {
//!     let Some(env) = real_env("something_against_real_connect") else { return };
//!     // env.bootstrap = "127.0.0.1:PORT" (Kafka), env.connect_url = "http://127.0.0.1:PORT"
//! }
//! ```
//!
//! Where the addresses come from, first match wins:
//! 1. `KUSTOPLAN_KAFKA_BOOTSTRAP` and `KUSTOPLAN_CONNECT_URL` (`.ci/run` exports them);
//! 2. the `env` file written by `scripts/test-env up` in `$KUSTOPLAN_TEST_ENV_DIR`
//!    (default `<repo>/target/test-env`).
//!
//! One broker and one Connect worker serve every test of a run, and tests run in parallel: give
//! connectors and topics names of your own test (and delete leftovers of an earlier run first).
//! tansu lacks CreatePartitions and the non-incremental AlterConfigs and reads topic configs back
//! incompletely; the Kusto sink is the stand-in of tests/connect/kusto-sink-standin (its task
//! fails on purpose when `kusto.ingestion.url` has the host `fail.invalid`). The stand-in ingests
//! like the real sink and commits only offsets it has shipped to Kusto: a test that waits for
//! committed offsets points the sink at a sandbox with queued ingestion (`common::azurite`).
//!
//! Both must accept a TCP connection. When they do not: with `CI=true` the test panics; otherwise
//! it prints a loud SKIPPED banner and `real_env` returns `None`.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kustoplan::sandbox::azurite::Azurite;

use super::cli::Run;
use super::sandbox::KustoServer;

/// Addresses of the running real components (loopback only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealEnv {
    /// Kafka bootstrap servers, `127.0.0.1:PORT` (tansu).
    pub bootstrap: String,
    /// Kafka Connect REST base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub connect_url: String,
}

/// The state dir of `scripts/test-env`.
pub fn state_dir() -> PathBuf {
    match std::env::var_os("KUSTOPLAN_TEST_ENV_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => super::repo().join("target").join("test-env"),
    }
}

/// Finds the real environment, or skips (outside CI) / panics (in CI). `test` names the caller
/// in the messages.
pub fn real_env(test: &str) -> Option<RealEnv> {
    match locate() {
        Ok(env) => Some(env),
        Err(why) => {
            assert!(
                !super::in_ci(),
                "{test}: the real Kafka broker and Kafka Connect worker are required in CI (CI=true), \
                 but {why}. Run `scripts/test-env up` (.ci/run does) first."
            );
            super::skip_loudly(&format!(
                "SKIPPED {test}: no real Kafka/Connect environment ({why}).\n!! \
                 Start one with `scripts/test-env up` (stop it with `scripts/test-env down`)."
            ));
            None
        }
    }
}

fn locate() -> Result<RealEnv, String> {
    let from_vars = (
        std::env::var("KUSTOPLAN_KAFKA_BOOTSTRAP")
            .ok()
            .filter(|v| !v.is_empty()),
        std::env::var("KUSTOPLAN_CONNECT_URL")
            .ok()
            .filter(|v| !v.is_empty()),
    );
    let env = match from_vars {
        (Some(bootstrap), Some(connect_url)) => RealEnv {
            bootstrap,
            connect_url: connect_url.trim_end_matches('/').to_string(),
        },
        _ => {
            let file = state_dir().join("env");
            let text = std::fs::read_to_string(&file).map_err(|e| {
                format!(
                    "KUSTOPLAN_KAFKA_BOOTSTRAP/KUSTOPLAN_CONNECT_URL are not set and {} cannot be read: {e}",
                    file.display()
                )
            })?;
            parse_env_file(&text)
                .ok_or_else(|| format!("{} lacks KAFKA_BOOTSTRAP or CONNECT_URL", file.display()))?
        }
    };
    let connect_addr = env
        .connect_url
        .strip_prefix("http://")
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .ok_or_else(|| format!("CONNECT_URL {} is not an http:// URL", env.connect_url))?
        .to_string();
    for (what, addr) in [
        ("Kafka broker", &env.bootstrap),
        ("Kafka Connect", &connect_addr),
    ] {
        reachable(addr).map_err(|e| format!("the {what} at {addr} does not answer ({e})"))?;
    }
    Ok(env)
}

/// Reads `KEY=value` lines as written by `scripts/test-env`.
pub fn parse_env_file(text: &str) -> Option<RealEnv> {
    let mut bootstrap = None;
    let mut connect_url = None;
    for line in text.lines() {
        match line.trim().split_once('=') {
            Some(("KAFKA_BOOTSTRAP", v)) => bootstrap = Some(v.trim().to_string()),
            Some(("CONNECT_URL", v)) => {
                connect_url = Some(v.trim().trim_end_matches('/').to_string())
            }
            _ => {}
        }
    }
    Some(RealEnv {
        bootstrap: bootstrap.filter(|v| !v.is_empty())?,
        connect_url: connect_url.filter(|v| !v.is_empty())?,
    })
}

fn reachable(addr: &str) -> Result<(), String> {
    let first = addr.split(',').next().unwrap_or(addr).trim();
    let addrs: Vec<SocketAddr> = first
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .collect();
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// Kusto on the sandbox server over HTTP with database `gamedb` (with queued ingestion on
/// `queued` when given: the sink commits offsets only once it has shipped their records), and
/// the `--var`s that point the gameplay stack at it and at the real broker and Connect worker.
/// Shared by the real-environment tests that apply the gameplay example.
pub async fn gameplay_targets(
    env: &RealEnv,
    queued: Option<&Azurite>,
) -> (KustoServer, Vec<String>) {
    let kusto = KustoServer::start_configured(&["gamedb"], |config| {
        config.queued = queued.map(|a| a.account().clone());
    })
    .await;
    let vars = vec![
        format!("kusto_cluster={}", kusto.url()),
        format!("kafka_bootstrap={}", env.bootstrap),
        format!("connect_url={}", env.connect_url),
    ];
    (kusto, vars)
}

/// Writes the gameplay example into `dir` with names unique to this run (the broker and worker
/// are shared by all tests: stack `gameplay-{suffix}`, topic `gameplay-{suffix}`, connector
/// `gameplay-sink-{suffix}`) and the connector's key file, holding `appkey`, written where its
/// `${file:...}` placeholder points.
pub fn gameplay_copy_unique(dir: &Path, suffix: &str, appkey: &str) {
    gameplay_copy_unique_edited(dir, suffix, appkey, |kafka| kafka);
}

/// [`gameplay_copy_unique`] with `edit_kafka` applied to `kafka.yaml` (the connector's
/// settings) after the renames.
pub fn gameplay_copy_unique_edited(
    dir: &Path,
    suffix: &str,
    appkey: &str,
    edit_kafka: impl Fn(String) -> String,
) {
    let secret = dir.join("kusto.properties");
    std::fs::write(&secret, format!("appkey={appkey}\n")).expect("secret file");
    for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
        let text = std::fs::read_to_string(super::repo().join("examples/gameplay").join(f))
            .expect("read example");
        let mut text = text
            .replace("name: gameplay\n", &format!("name: gameplay-{suffix}\n"))
            .replace("topic: gameplay\n", &format!("topic: gameplay-{suffix}\n"))
            .replace(
                "name: gameplay-kusto-sink",
                &format!("name: gameplay-sink-{suffix}"),
            )
            .replace(
                "/opt/kafka/secrets/kusto.properties",
                &secret.display().to_string(),
            );
        if f == "kafka.yaml" {
            text = edit_kafka(text);
        }
        std::fs::write(dir.join(f), text).expect("write");
    }
}

/// Runs kustoplan (off the async runtime) with `args`, then the `stack` directory, then each of
/// `vars` as `--var`: how the real-environment tests point a stack at the real components.
pub async fn kustoplan_with_vars(stack: &Path, vars: &[String], args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push(stack.display().to_string());
    for v in vars {
        all.extend(["--var".to_string(), v.clone()]);
    }
    let mut cmd = Command::new(super::kustoplan_bin());
    cmd.args(&all);
    let out = super::cli::output_off_runtime(cmd).await;
    Run::from(out)
}

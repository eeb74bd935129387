//! `kustoplan sandbox serve --connect-listen` as a user runs it: the Connect REST stand-in
//! next to the Kusto sandbox, used through the real Connect client, and its connectors kept
//! across a Ctrl-C and restart on the same directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use kustoplan::providers::connect::{ConnectClient, ConnectClientOptions, State};
use kustoplan::sandbox::connect::KUSTO_SINK_CLASS;

/// Starts the sandbox and returns the process and the Connect URL from its banner.
fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = crate::common::cli::command()
        .args([
            "sandbox",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--connect-listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let kusto = lines.next().expect("kusto banner").expect("line");
    assert!(kusto.starts_with("kusto sandbox listening on "), "{kusto}");
    let connect = lines.next().expect("connect banner").expect("line");
    let url = connect
        .strip_prefix("connect sandbox listening on ")
        .unwrap_or_else(|| panic!("unexpected banner: {connect}"))
        .trim()
        .to_string();
    (child, url)
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "Ctrl-C is a clean shutdown");
}

fn config() -> BTreeMap<String, String> {
    [
        ("connector.class", KUSTO_SINK_CLASS),
        ("tasks.max", "1"),
        ("topics", "gameplay"),
        (
            "kusto.ingestion.url",
            "https://ingest-cluster.westeurope.kusto.windows.net",
        ),
        ("aad.auth.strategy", "workload_identity"),
        (
            "kusto.tables.topics.mapping",
            "[{'topic':'gameplay','db':'db','table':'GamePlay','format':'json'}]",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn connect_stand_in_persists_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, url) = start(dir.path());
    let client = ConnectClient::new(&url, None, ConnectClientOptions::default()).expect("client");
    client
        .put_config("kusto-sink", &config())
        .await
        .expect("create");
    client.stop("kusto-sink").await.expect("stop");
    stop(child);

    let (child, url) = start(dir.path());
    let client = ConnectClient::new(&url, None, ConnectClientOptions::default()).expect("client");
    let list = client.list_expanded().await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list["kusto-sink"].status.connector.state, State::Stopped);
    assert_eq!(
        list["kusto-sink"].info.config.get("topics"),
        Some("gameplay")
    );
    stop(child);
}

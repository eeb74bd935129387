//! The Kusto and Connect sandboxes served over HTTP on loopback, as the tests that drive
//! kustoplan's real clients (the binary or the library) against them start them.

use std::ops::Deref;
use std::path::Path;

use kustoplan::providers::kusto::transport::KustoTransport;
use kustoplan::providers::kusto::{ClientOptions, KustoClient, TokenSource};
use kustoplan::sandbox::connect::{ConnectServeConfig, ConnectServerHandle, serve_connect};
use kustoplan::sandbox::kusto::{ServeConfig, ServerHandle, serve};

/// A Kusto sandbox server on a free loopback port, with only `databases`, no authentication
/// and its state in a temp dir of its own. One helper so every HTTP test starts the server
/// the same way, and the directory lives exactly as long as the server: the handle is dropped
/// (the server stops) before the directory is removed. Derefs to the [`ServerHandle`]
/// (`url`, `stats`, `set_faults`, `sandbox`).
pub struct KustoServer {
    // Declared first: dropped, and so stopped, before `dir` is removed.
    handle: ServerHandle,
    dir: tempfile::TempDir,
}

impl KustoServer {
    /// Starts the server with these databases.
    pub async fn start(databases: &[impl AsRef<str>]) -> KustoServer {
        KustoServer::start_configured(databases, |_| {}).await
    }

    /// [`KustoServer::start`] with the rest of the config set by `configure` (queued ingestion
    /// on an Azurite account, authentication).
    pub async fn start_configured(
        databases: &[impl AsRef<str>],
        configure: impl FnOnce(&mut ServeConfig),
    ) -> KustoServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServeConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
        config.databases = databases.iter().map(|d| d.as_ref().to_string()).collect();
        configure(&mut config);
        let handle = serve(config).await.expect("sandbox server");
        KustoServer { handle, dir }
    }

    /// The directory holding the server's persisted state.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// kustoplan's own HTTP transport to this server, without a token.
    pub fn transport(&self) -> KustoTransport {
        let client = KustoClient::new(&self.url(), TokenSource::none(), ClientOptions::default())
            .expect("client");
        KustoTransport::http(client)
    }

    /// Stops the server and waits until it has, then removes its directory.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }
}

impl Deref for KustoServer {
    type Target = ServerHandle;

    fn deref(&self) -> &ServerHandle {
        &self.handle
    }
}

/// The Kafka Connect sandbox served on a free loopback port, in memory (nothing persisted) and
/// with the default limits: what the tests of kustoplan's Connect client and connector writes
/// talk to.
pub async fn connect_server() -> ConnectServerHandle {
    serve_connect(ConnectServeConfig {
        dir: None,
        listen: "127.0.0.1:0".parse().expect("addr"),
        limits: Default::default(),
    })
    .await
    .expect("serve")
}

/// The Stack document `scale` of the generated stacks that measure what observe costs: its
/// Kusto cluster is `${var.kusto_cluster}`, the built-in sandbox unless the run sets `--var
/// kusto_cluster=URL` (as [`super::cli::kustoplan_at`] does for a [`KustoServer`]), without
/// authentication.
pub const SCALE_STACK: &str = "kind: Stack\nname: scale\nvars:\n  kusto_cluster: sandbox\ntargets:\n  kusto:\n    cluster: ${var.kusto_cluster}\n    auth: {method: none}\n";

/// The documents that open a stack applied to a served sandbox: the Stack document `name` whose
/// Kusto target is the cluster at `url` authenticating with `auth` (a flow mapping, e.g.
/// `{method: none}`), with `extra` (whole lines of more Stack keys, e.g. `safety: {prune:
/// true}\n`, or empty), then the Database document `database`. The tests add their own
/// documents after it, each starting with `---`.
pub fn stack_head(name: &str, url: &str, auth: &str, extra: &str, database: &str) -> String {
    format!(
        "kind: Stack\nname: {name}\ntargets:\n  kusto:\n    cluster: {url}\n    auth: {auth}\n{extra}---\nkind: Database\nname: {database}\n"
    )
}

//! Test support: a sandbox with fast client options, a scripted raw HTTP server for exact
//! header/body assertions and responses the sandbox cannot produce, a counting token
//! credential, and a tracing capture.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::time::OffsetDateTime;
use kustoplan::providers::kusto::{ClientOptions, RetryPolicy};
use kustoplan::sandbox::kusto::{ServeConfig, ServerHandle, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const DB: &str = "kustoplan";

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub async fn sandbox(dir: &Path) -> ServerHandle {
    serve(ServeConfig::new(dir, loopback()))
        .await
        .expect("serve")
}

/// Short timeouts and backoff so retry tests run in milliseconds.
pub fn fast() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        server_timeout: Some(Duration::from_secs(4)),
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            max_elapsed: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(5),
        },
    }
}

/// One scripted answer of the raw server.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: vec![("content-type", "application/json; charset=utf-8".into())],
            body: body.to_string(),
        }
    }
}

/// A request as received by the raw server.
#[derive(Debug, Clone)]
pub struct Received {
    pub request_line: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 server answering scripted responses in order (500 when the script is
/// exhausted) and recording every request verbatim.
pub struct RawServer {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl RawServer {
    pub async fn start(script: Vec<Canned>) -> RawServer {
        let listener = TcpListener::bind(loopback()).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, Arc::clone(&script), Arc::clone(&log)));
            }
        });
        RawServer { url, received }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn connection(
    mut stream: TcpStream,
    script: Arc<Mutex<VecDeque<Canned>>>,
    log: Arc<Mutex<Vec<Received>>>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
        buf.drain(..head_end + length);
        log.lock().expect("lock").push(Received {
            request_line,
            headers,
            body,
        });
        let canned = script.lock().expect("lock").pop_front().unwrap_or_else(|| {
            Canned::json(
                500,
                r#"{"error":{"code":"NoScript","message":"script exhausted"}}"#,
            )
        });
        let mut out = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            canned.status,
            canned.body.len()
        );
        for (n, v) in &canned.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&canned.body);
        stream.write_all(out.as_bytes()).await?;
    }
}

/// A credential handing out `token-1`, `token-2`, ... and counting calls; the first
/// `short_lived` tokens expire within the refresh margin.
#[derive(Debug)]
pub struct CountingCredential {
    pub calls: AtomicUsize,
    pub short_lived: usize,
    pub delay: Duration,
    pub scopes: Mutex<Vec<String>>,
}

impl CountingCredential {
    pub fn new(short_lived: usize) -> Arc<Self> {
        Arc::new(CountingCredential {
            calls: AtomicUsize::new(0),
            short_lived,
            delay: Duration::from_millis(50),
            scopes: Mutex::new(Vec::new()),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenCredential for CountingCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.scopes
            .lock()
            .expect("lock")
            .extend(scopes.iter().map(|s| s.to_string()));
        tokio::time::sleep(self.delay).await;
        let lifetime = if n <= self.short_lived {
            azure_core::time::Duration::seconds(120)
        } else {
            azure_core::time::Duration::hours(1)
        };
        Ok(AccessToken::new(
            format!("token-{n}"),
            OffsetDateTime::now_utc() + lifetime,
        ))
    }
}

/// A credential that always fails with a message containing a JWT-shaped string.
#[derive(Debug)]
pub struct FailingCredential;

#[async_trait::async_trait]
impl TokenCredential for FailingCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "AADSTS7000215: invalid assertion eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        ))
    }
}

/// Everything logged through `tracing` while the guard lives (current thread only: use a
/// current-thread runtime).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).to_string()
    }

    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A credential for a tenant that does not know the cluster's own scope (AADSTS500011):
/// only the generic Kusto scope works. Tokens are short-lived, so every call refetches.
#[derive(Debug, Default)]
pub struct GenericScopeOnlyCredential {
    pub scopes: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl TokenCredential for GenericScopeOnlyCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let scope = scopes.join(" ");
        self.scopes.lock().expect("lock").push(scope.clone());
        if scope != kustoplan::providers::kusto::auth::KUSTO_DEFAULT_SCOPE {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!(
                    "AADSTS500011: The resource principal named {} was not found in the tenant named contoso.",
                    scope.trim_end_matches("/.default")
                ),
            ));
        }
        Ok(AccessToken::new(
            "token-1",
            OffsetDateTime::now_utc() + azure_core::time::Duration::seconds(60),
        ))
    }
}

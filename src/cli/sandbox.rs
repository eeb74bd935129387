//! `kustoplan sandbox serve`: the built-in Kusto-compatible target over HTTP, and optionally
//! the Kafka Connect REST stand-in next to it.

use super::exit::Exit;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::SandboxServeArgs;
use crate::sandbox::azurite::{self, Azurite};
use crate::sandbox::connect::{ConnectServeConfig, serve_connect};
use crate::sandbox::http::ServerLimits;
use crate::sandbox::kusto::{AuthConfig, ServeConfig, serve};
use crate::sandbox::lease::{DirLease, LeaseRequest};

/// A future that completes on Ctrl-C (SIGINT), registered when this returns.
#[cfg(unix)]
fn interrupt_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        signal.recv().await;
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn interrupt_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The caller whose token `--token-file` holds: a cluster admin, like the anonymous caller of
/// a server without a token.
const TOKEN_PRINCIPAL: &str = "aaduser=sandbox";

/// Reads `--token-file`; errors name the file, never its content.
fn token_auth(path: &Path) -> Result<AuthConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --token-file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("--token-file {} is empty", path.display()));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "--token-file {} must hold one token (no spaces or line breaks inside)",
            path.display()
        ));
    }
    Ok(AuthConfig {
        tokens: BTreeMap::from([(token.to_string(), TOKEN_PRINCIPAL.to_string())]),
        cluster_admins: vec![TOKEN_PRINCIPAL.to_string()],
    })
}

/// Installs Azurite into the cache when missing (saying so: it takes a while) and starts it.
fn start_azurite() -> Result<Azurite, azurite::AzuriteError> {
    let dir = azurite::install_dir()?;
    if !dir.exists() {
        eprintln!(
            "installing Azurite {} into {} (once)...",
            azurite::VERSION,
            dir.display()
        );
    }
    let exe = azurite::install(&dir)?;
    Azurite::start_with(&exe)
}

/// Serves the sandbox until Ctrl-C, printing the URL first so scripts can read it.
pub fn run(args: &SandboxServeArgs) -> Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure;
        }
    };
    // Held until the servers stop: another serve, apply or plan on this directory would load
    // the state beside this process and overwrite it.
    let _lease = match DirLease::acquire(
        &args.dir,
        &LeaseRequest::write("kustoplan sandbox serve", Duration::ZERO),
    ) {
        Ok(lease) => lease,
        Err(e) => {
            eprintln!("error: cannot start the Kusto sandbox: {e}");
            eprintln!("help: stop the other process first, or serve another --dir");
            return Exit::Failure;
        }
    };
    let auth = match &args.token_file {
        None => None,
        Some(path) => match token_auth(path) {
            Ok(auth) => Some(auth),
            Err(message) => {
                eprintln!("error: {message}");
                return Exit::Failure;
            }
        },
    };
    let limits = ServerLimits {
        header_read_timeout: args.header_timeout,
        body_timeout: args.body_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    };
    // Started before the servers and dropped after them, whatever way `run` returns.
    let storage = if args.ingest {
        match start_azurite() {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("error: cannot start queued ingestion: {e}");
                eprintln!(
                    "help: Azurite needs Node.js and npm (npm install azurite@{})",
                    azurite::VERSION
                );
                return Exit::Failure;
            }
        }
    } else {
        None
    };
    runtime.block_on(async {
        let mut config = ServeConfig::new(&args.dir, args.listen);
        config.queued = storage.as_ref().map(|a| a.account().clone());
        if !args.databases.is_empty() {
            config.databases = args.databases.clone();
        }
        let token_note = if auth.is_some() {
            ", bearer token required"
        } else {
            ""
        };
        config.auth = auth;
        config.limits = limits;
        let handle = match serve(config).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: cannot start the Kusto sandbox: {e}");
                eprintln!(
                    "help: check that --listen is a free local address and --dir is writable"
                );
                return Exit::Failure;
            }
        };
        // Listen for Ctrl-C before announcing the URL: a script that reads the banner and stops
        // the server at once must get a clean shutdown, not the default SIGINT death.
        let interrupted = match interrupt_signal() {
            Ok(signal) => signal,
            Err(e) => {
                eprintln!("error: cannot listen for Ctrl-C: {e}");
                return Exit::Failure;
            }
        };
        println!(
            "kusto sandbox listening on {} (state in {}{token_note})",
            handle.url(),
            args.dir.display()
        );
        if let Some(a) = &storage {
            println!(
                "queued ingestion on Azurite: blobs {}, queues {}",
                a.account().blob_endpoint(),
                a.account().queue_endpoint()
            );
        }
        let connect = match args.connect_listen {
            None => None,
            Some(listen) => {
                let config = ConnectServeConfig {
                    dir: Some(args.dir.clone()),
                    listen,
                    limits,
                };
                match serve_connect(config).await {
                    Ok(h) => {
                        println!("connect sandbox listening on {}", h.url());
                        Some(h)
                    }
                    Err(e) => {
                        eprintln!("error: cannot start the Connect sandbox: {e}");
                        eprintln!(
                            "help: check that --connect-listen is a free local address and \
                             --dir is writable"
                        );
                        handle.shutdown().await;
                        return Exit::Failure;
                    }
                }
            }
        };
        interrupted.await;
        if let Some(connect) = connect {
            connect.shutdown().await;
        }
        handle.shutdown().await;
        Exit::Success
    })
}

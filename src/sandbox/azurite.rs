//! Azurite, Microsoft's Azure Storage emulator (npm package `azurite`), as the blob and queue
//! services behind the sandbox's queued ingestion: installed with npm into the user's cache
//! when missing, started on free loopback ports, stopped when the handle is dropped.
//!
//! Data lives in Azurite's memory only (`--inMemoryPersistence`): the sandbox keeps rows, not
//! blobs, and messages not yet ingested when it stops are lost with the emulator.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::sandbox::kusto::StorageAccount;

/// The pinned Azurite version (the newest that runs on Node 20).
pub const VERSION: &str = "3.35.0";

/// Azurite's well-known development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";

/// The published key of [`DEV_ACCOUNT`] (public, the same in every Azurite).
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How long Azurite may take to listen once started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Why Azurite could not be installed or started.
#[derive(Debug, thiserror::Error)]
pub enum AzuriteError {
    /// No cache directory could be determined.
    #[error("no cache directory: set XDG_CACHE_HOME or HOME")]
    NoCache,
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was attempted.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `npm install` failed.
    #[error("npm install azurite@{VERSION} failed ({status}): {output}")]
    Install {
        /// npm's exit status.
        status: String,
        /// The end of npm's output.
        output: String,
    },
    /// Azurite exited or did not report its ports in time.
    #[error("Azurite did not start: {0}")]
    Start(String),
}

/// The cache directory Azurite is installed into:
/// `${XDG_CACHE_HOME:-~/.cache}/kustoplan/tools/azurite-VERSION`.
pub fn install_dir() -> Result<PathBuf, AzuriteError> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .ok_or(AzuriteError::NoCache)?;
    Ok(cache
        .join("kustoplan")
        .join("tools")
        .join(format!("azurite-{VERSION}")))
}

fn executable(dir: &Path) -> PathBuf {
    dir.join("node_modules").join(".bin").join("azurite")
}

/// Installs Azurite into `dir` unless it is there; returns its executable. The install runs
/// in a sibling directory renamed into place, so concurrent installs and interrupted ones
/// never leave a half-installed tool behind.
pub fn install(dir: &Path) -> Result<PathBuf, AzuriteError> {
    let exe = executable(dir);
    if exe.exists() {
        return Ok(exe);
    }
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| AzuriteError::Io { what, path, source }
    };
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
    let staging = parent.join(format!(".azurite-{VERSION}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
    let out = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(&staging)
        .arg(format!("azurite@{VERSION}"))
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(AzuriteError::Install {
                status: "npm could not run".into(),
                output: e.to_string(),
            });
        }
    };
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        let text = String::from_utf8_lossy(&out.stderr);
        let tail: String = text.lines().rev().take(10).collect::<Vec<_>>().join(" | ");
        return Err(AzuriteError::Install {
            status: out.status.to_string(),
            output: tail,
        });
    }
    if std::fs::rename(&staging, dir).is_err() {
        // Another install won the race: use it.
        let _ = std::fs::remove_dir_all(&staging);
    }
    if exe.exists() {
        Ok(exe)
    } else {
        Err(AzuriteError::Start(format!(
            "{} is missing after the install",
            exe.display()
        )))
    }
}

/// A running Azurite; dropping it stops the process.
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    account: StorageAccount,
    workdir: PathBuf,
}

impl Azurite {
    /// Installs Azurite if needed ([`install_dir`]) and starts it on free loopback ports.
    pub fn start() -> Result<Azurite, AzuriteError> {
        let exe = install(&install_dir()?)?;
        Azurite::start_with(&exe)
    }

    /// Starts the Azurite executable `exe` on free loopback ports, in memory, and waits until
    /// its blob and queue services listen.
    pub fn start_with(exe: &Path) -> Result<Azurite, AzuriteError> {
        let workdir =
            std::env::temp_dir().join(format!("kustoplan-azurite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&workdir).map_err(|source| AzuriteError::Io {
            what: "cannot create",
            path: workdir.clone(),
            source,
        })?;
        let spawned = Command::new(exe)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                "0",
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                "0",
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--disableProductStyleUrl",
                "--disableTelemetry",
                "--silent",
            ])
            .current_dir(&workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&workdir);
                return Err(AzuriteError::Start(format!(
                    "cannot run {}: {e}",
                    exe.display()
                )));
            }
        };
        match wait_for_ports(&mut child) {
            Ok((blob, queue)) => {
                if let Some(stderr) = child.stderr.take() {
                    std::thread::spawn(move || {
                        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                            tracing::debug!(target: "azurite", "{line}");
                        }
                    });
                }
                let endpoint = |port: u16| format!("http://127.0.0.1:{port}/{DEV_ACCOUNT}");
                let account =
                    StorageAccount::new(DEV_ACCOUNT, DEV_KEY, &endpoint(blob), &endpoint(queue))
                        .map_err(|e| AzuriteError::Start(e.to_string()))?;
                Ok(Azurite {
                    child,
                    account,
                    workdir,
                })
            }
            Err(reason) => {
                let _ = child.kill();
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = err.read_to_string(&mut stderr);
                }
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&workdir);
                Err(AzuriteError::Start(format!("{reason} {}", stderr.trim())))
            }
        }
    }

    /// The development account with the running services' endpoints.
    pub fn account(&self) -> &StorageAccount {
        &self.account
    }
}

/// Reads Azurite's output until both "... service is successfully listening at URL" lines
/// are seen; then keeps draining it (so the pipe never fills) on the reader thread.
fn wait_for_ports(child: &mut Child) -> Result<(u16, u16), String> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| "its output cannot be read".to_string())?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            tracing::debug!(target: "azurite", "{line}");
            for (service, kind) in [("Blob", 0), ("Queue", 1)] {
                let prefix = format!("Azurite {service} service is successfully listening at ");
                if let Some(url) = line.strip_prefix(&prefix)
                    && let Some(port) = url.rsplit(':').next().and_then(|p| p.trim().parse().ok())
                {
                    let _ = tx.send((kind, port));
                }
            }
        }
    });
    let (mut blob, mut queue) = (None, None);
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    while blob.is_none() || queue.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((0, port)) => blob = Some(port),
            Ok((_, port)) => queue = Some(port),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!("no listening ports within {START_TIMEOUT:?}."));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(format!("it exited ({status})."));
            }
        }
    }
    blob.zip(queue)
        .ok_or_else(|| "no ports reported.".to_string())
}

impl Drop for Azurite {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            tracing::warn!(error = %e, "cannot stop Azurite");
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

//! The accept loop shared by the sandboxes' HTTP faces.
//!
//! Hand-rolled (hyper + an axum router) rather than `axum::serve`, so that fault injection
//! can close a single TCP connection mid-request without answering: a handler finds a
//! [`ConnectionKill`] in the request extensions and fires it.
//!
//! A client can hold nothing for long: headers must arrive within
//! [`ServerLimits::header_read_timeout`] (also between keep-alive requests), bodies within
//! [`ServerLimits::body_timeout`] (enforced by the handlers, see [`read_body`]), and at most
//! [`ServerLimits::max_connections`] connections are served at once; further clients wait in
//! the kernel's backlog. When `accept` fails (for example when file descriptors run out), the
//! loop backs off instead of spinning.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

/// How long and how many clients the sandbox servers serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time a connection has to send a request's headers (also an idle keep-alive
    /// connection's time to send its next request); then it is closed.
    pub header_read_timeout: Duration,
    /// Time a request has to send its whole body once the headers arrived.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 256,
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The body did not arrive within the body timeout.
    TimedOut(Duration),
    /// The body is longer than the limit.
    TooLarge(usize),
    /// The connection failed while reading.
    Read(String),
}

/// Reads a whole request body of at most `limit` bytes within `timeout`; a declared
/// `Content-Length` over the limit fails before anything is read.
pub async fn read_body(
    body: Body,
    content_length: Option<usize>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    if content_length.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(BodyError::TimedOut(timeout)),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(BodyError::Read(e.to_string())),
    }
}

/// Lets a handler close its own TCP connection without answering.
#[derive(Clone)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    /// Closes the connection carrying this request; the caller should then never answer
    /// (await a pending future).
    pub fn fire(&self) {
        self.0.notify_one();
    }
}

/// Exponential backoff after failed `accept` calls: 5 ms doubling up to 1 s, reset by a
/// success. A failing accept (EMFILE leaves the connection queued) would otherwise spin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    /// A backoff that has seen no failure.
    pub fn new() -> Self {
        AcceptBackoff { next: Self::FIRST }
    }

    /// How long to wait after one more failure.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    /// An accept succeeded: the next failure waits the shortest time again.
    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self::new()
    }
}

/// A running accept loop: where it listens and how to stop it. Both sandboxes' server handles
/// hold one, so serving, stopping and dropping a sandbox server is written once. Dropping it
/// stops the loop (without waiting for it); [`Serving::stop`] also waits.
#[derive(Debug)]
pub struct Serving {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Serving {
    /// Spawns the accept loop serving `router` on `listener`, bound to `addr`.
    pub fn start(
        listener: TcpListener,
        addr: SocketAddr,
        router: Router,
        limits: ServerLimits,
    ) -> Serving {
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, router, rx, limits));
        Serving {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// The bound address (with the real port when 0 was requested).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The loop is gone already when nobody receives: nothing left to stop.
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!("the sandbox server's accept loop ended abnormally: {e}");
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The loop is gone already when nobody receives: nothing left to stop.
            let _ = tx.send(());
        }
    }
}

/// Serves `router` on `listener` until `shutdown` fires, then closes open connections.
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
    limits: ServerLimits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut backoff = AcceptBackoff::new();
    loop {
        // A free slot first: at the limit, new clients wait in the backlog, not in memory.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff.succeeded();
                    connections.spawn(serve_connection(stream, router.clone(), limits, permit));
                }
                Err(e) => {
                    let wait = backoff.failed();
                    tracing::warn!("sandbox server: accept failed ({e}); retrying in {wait:?}");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            },
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: ServerLimits,
    _slot: OwnedSemaphorePermit,
) {
    let kill = Arc::new(Notify::new());
    let handle = ConnectionKill(Arc::clone(&kill));
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(handle.clone());
            router.clone().oneshot(req)
        });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection future closes the socket with no response.
        _ = kill.notified() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_exponentially_to_a_second_and_reset_on_success() {
        let mut backoff = AcceptBackoff::new();
        let waits: Vec<u128> = (0..10).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(5));
    }
}

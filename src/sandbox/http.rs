//! The accept loop shared by the sandboxes' HTTP faces.
//!
//! Hand-rolled (hyper + an axum router) rather than `axum::serve`, so that fault injection
//! can close a single TCP connection mid-request without answering: a handler finds a
//! [`ConnectionKill`] in the request extensions and fires it.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;
use tower::ServiceExt;

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

/// Serves `router` on `listener` until `shutdown` fires, then closes open connections.
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                connections.spawn(serve_connection(stream, router));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: tokio::net::TcpStream, router: Router) {
    let kill = Arc::new(Notify::new());
    let handle = ConnectionKill(Arc::clone(&kill));
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(handle.clone());
            router.clone().oneshot(req)
        });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection future closes the socket with no response.
        _ = kill.notified() => {}
    }
}

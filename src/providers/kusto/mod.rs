//! The Kusto provider: a transport over a [`transport::KustoBackend`] (a cluster over HTTP,
//! or any in-process implementation), bulk observe, and apply in `.execute database script`
//! batches.
//!
//! - [`client`]: [`KustoClient::mgmt`] posts a management command with timeouts, bounded
//!   retries and a client request id, and returns the parsed v1 response.
//! - [`auth`]: [`TokenSource`] turns the manifest's `kusto.auth` into cached AAD tokens (and
//!   `kafka.security.auth` into Event Hubs' OAUTHBEARER tokens, for `providers::kafka::oauth`).
//! - [`error`]: [`KustoClientError`], whose messages say what to do next and never contain
//!   tokens or secrets.
//! - [`retry`]: [`RetryPolicy`] and [`Idempotency`], which decide what may be retried.
//! - [`transport`]: where commands go: the [`transport::KustoBackend`] interface, which
//!   [`KustoClient`] implements, and the counting [`transport::KustoTransport`] over it.
//! - [`queued`]: queued ingestion of one blob through storage, as the REST page describes.
//! - [`lease`]: the apply lease on a live target (one apply of a stack at a time).

pub mod apply;
pub mod auth;
pub mod client;
pub mod error;
pub mod lease;
pub mod observe;
pub mod queued;
pub mod retry;
pub mod transport;

pub use auth::{TokenError, TokenSource};
pub use client::{ClientOptions, KustoClient};
pub use error::KustoClientError;
pub use retry::{Idempotency, RetryPolicy};

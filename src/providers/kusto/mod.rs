//! The Kusto provider: the single HTTP client kustoplan uses to talk to Azure Data Explorer
//! (or the sandbox), and the AAD token source it authenticates with.
//!
//! - [`client`]: [`KustoClient::mgmt`] posts a management command with timeouts, bounded
//!   retries and a client request id, and returns the parsed v1 response.
//! - [`auth`]: [`TokenSource`] turns the manifest's `kusto.auth` into cached AAD tokens.
//! - [`error`]: [`KustoClientError`], whose messages say what to do next and never contain
//!   tokens or secrets.
//! - [`retry`]: [`RetryPolicy`] and [`Idempotency`], which decide what may be retried.

pub mod auth;
pub mod client;
pub mod error;
pub mod retry;

pub use auth::{TokenError, TokenSource};
pub use client::{ClientOptions, KustoClient};
pub use error::KustoClientError;
pub use retry::{Idempotency, RetryPolicy};

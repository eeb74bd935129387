//! The Kafka Connect provider: a REST client for the endpoints kustoplan uses to observe and
//! converge Kusto sink connectors.
//!
//! - [`client`]: [`ConnectClient`], the typed REST API, with request ids and bounded retries
//!   (5xx, connection errors, 409 during a rebalance) over any backend.
//! - `request`: the retry loop and failure classification behind every call.
//! - [`rest`]: [`ConnectBackend`], one REST exchange, whoever answers it: [`http`]'s
//!   [`HttpConnect`] (a worker, with timeouts and basic auth) or the built-in sandbox.
//! - [`types`]: typed responses (states, statuses with traces, configs, validation reports).
//! - [`mask`]: [`mask_config`] and [`Masker`], because Connect returns literal secrets verbatim.
//! - [`observe`]: listing a cluster's connectors, once for plan, status, import and restarts.
//! - [`converge`]: validating, applying and waiting for planned operations.
//! - [`error`]: [`ConnectClientError`], whose messages say what to do next and hold no secret.

pub mod client;
pub mod converge;
pub mod error;
pub mod http;
pub mod mask;
pub mod observe;
mod request;
pub mod rest;
pub mod types;

#[cfg(test)]
mod fixture_tests;

pub use client::{BasicAuth, ConnectClient, ConnectClientOptions};
pub use error::ConnectClientError;
pub use http::HttpConnect;
pub use mask::{Masker, is_placeholder, is_secret_key, mask_config};
pub use rest::{ConnectBackend, NoAnswer, RestAnswer, RestRequest};
pub use types::{
    ConnectorConfig, ConnectorInfo, ConnectorState, ConnectorStatus, ErrorBody, ExpandedConnector,
    PluginInfo, PutAction, PutOutcome, RestartOutcome, ServerInfo, SinkOffset, SinkOffsets,
    SinkPartition, SinkPartitionOffset, State, TaskId, TaskState, ValidatedKey, ValidationReport,
};

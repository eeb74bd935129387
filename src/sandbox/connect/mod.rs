//! A local Kafka Connect REST endpoint for the Kusto sink: the engine ([`ConnectSandbox`])
//! and its HTTP face ([`serve_connect`]).
//!
//! kustoplan's main job must run with no external service, so the built-in sandbox stands in
//! for the Connect REST endpoints kustoplan uses. It is a protocol fake that follows the
//! responses recorded from a real Connect 4.3 worker (`tests/fixtures/connect-4.3`), not a
//! mock of kustoplan's client; a test compares its answers with those recordings.
//!
//! Choices where the sandbox cannot behave like a real worker (clients must not depend on
//! more than Connect guarantees):
//! - Only the Kusto sink is installed; its keys and rules are the documented ones (see
//!   [`validate::parse_mapping`]), version `5.3.0-kustoplan-sandbox`.
//! - No records flow: tasks are `RUNNING` unless the connector is paused (`PAUSED`) or
//!   stopped (no tasks); `topics` and `offsets` are empty. Tasks fail only through
//!   [`ConnectSandbox::fail_task`], and a restart recovers them.
//! - A create answers 201 with no tasks (as in distributed mode), every later read shows
//!   `tasks.max` tasks at once (no rebalance delay).
//! - Config values are kept as sent (literal secrets included, like Connect).

#![warn(missing_docs)]

mod defs;
mod engine;
mod faults;
mod render;
mod rest;
mod server;
mod state;
pub mod validate;

#[cfg(test)]
mod tests;

pub use defs::{CONNECT_VERSION, KUSTO_SINK_CLASS, KUSTO_SINK_VERSION, is_kusto_sink};
pub use engine::{ConnectError, ConnectSandbox, OpenError, Reply};
pub use faults::{ConnectFaults, ConnectStats, REBALANCE_MESSAGE};
pub use rest::RestRequest;
pub use server::{ConnectServeConfig, ConnectServeError, ConnectServerHandle, serve_connect};
pub use state::{ConnectState, STATE_FILE, StoredConnector, TargetState};

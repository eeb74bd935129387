//! A local Kusto management endpoint: the engine ([`KustoSandbox`]) and its HTTP face
//! ([`serve`]).
//!
//! Databases exist only if declared (`--database NAME`, default `kustoplan`) or remembered
//! in the state file: real Kusto cannot create databases with control commands, so neither
//! can the sandbox, and a typo in a database name fails the same way it would in production.

mod clock;
mod engine;
mod error;
mod exec;
mod faults;
mod server;
mod state;
mod store;
mod validate;

pub use engine::{Caller, Execution, KustoSandbox, Request, SandboxError};
pub use error::KustoError;
pub use faults::{Faults, RequestStats};
pub use server::{AuthConfig, ServeConfig, ServeError, ServerHandle, serve};
pub use state::{
    Assignment, BatchingPolicy, Column, Database, Mapping, SandboxState, StreamingPolicy, Table,
};
pub use store::{STATE_FILE, StoreError};

//! A local Kusto management endpoint: the engine ([`KustoSandbox`]) and its HTTP face
//! ([`serve`]).
//!
//! Databases exist only if declared (`--database NAME`, default `kustoplan`) or remembered
//! in the state file: real Kusto cannot create databases with control commands, so neither
//! can the sandbox, and a typo in a database name fails the same way it would in production.
//!
//! Where the documentation leaves the service's behaviour open, the sandbox makes these
//! choices (clients must not depend on more than the real service guarantees):
//! - Error bodies follow the real shape: syntax errors are 400 `BadRequest` /
//!   `SyntaxException`; a missing database is 404 `NotFound` /
//!   `EntityNameDoesNotExistException`; a missing table, column or mapping is 400
//!   `BadRequest_EntityNotFound`; a missing role is 403 `Forbidden` /
//!   `UnauthorizedDatabaseAccessException`; injected 429/503 are `@permanent: false`.
//! - `.execute database script` parses every command first (one syntax error fails the whole
//!   request, nothing runs), then runs them in order, each committing on its own. With
//!   `ContinueOnErrors=false` the commands after a failure are reported as `Skipped` with a
//!   reason; `.show` commands are `Skipped` as documented.
//! - Mappings are stored in the canonical form shown by the create-or-alter docs: element
//!   keys in ordinal order, `datatype` defaulted to `""`.
//! - No directory lookups: `PrincipalDisplayName` and `PrincipalObjectId` are the identity
//!   part of the FQN; FQNs compare case-insensitively.
//! - `.alter table T (cols)` without `with (...)` clears docstring and folder ("overwriting"
//!   per the docs); `.create-merge`/`.alter-merge` only set the properties they are given.
//! - Policy cells are JSON text, `"null"` when no policy is set.

#![warn(missing_docs)]

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

#[cfg(test)]
mod tests;

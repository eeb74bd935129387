//! A local Kusto endpoint: the engine ([`KustoSandbox`]) and its HTTP face ([`serve`]):
//! management commands, rows (streaming ingestion, `.ingest inline`, extents) and a small,
//! exact query subset answered in v1 and v2 formats.
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
//! - A small built-in directory resolves principals as the service does: users and groups are
//!   stored and listed by a stable object id derived from their lower-cased name
//!   (`aaduser=<oid>;<tenantId>`, display name `jack (upn: jack@contoso.com)`), apps keep their
//!   app id, tenant domains become stable tenant ids, and no tenant means the home tenant
//!   ([`directory::HOME_TENANT`]). Adding a user again by UPN or by object id is the same
//!   principal.
//! - `.alter table T (cols)` without `with (...)` clears docstring and folder ("overwriting"
//!   per the docs); `.create-merge`/`.alter-merge` only set the properties they are given.
//! - Policy cells are JSON text, `"null"` when no policy is set.

#![warn(missing_docs)]

mod backend;
mod changes;
mod clock;
mod data;
mod directory;
mod engine;
mod error;
mod exec;
mod faults;
mod query;
mod queued;
mod server;
mod state;
mod store;
mod validate;

/// The FQN the sandbox stores and lists for a principal given as `fqn` (users and groups by
/// object id, tenants by id): what a client reads back after granting it, for tests and docs.
pub fn resolved_fqn(fqn: &str) -> Result<String, KustoError> {
    validate::PrincipalName::parse(fqn).map(|p| directory::resolve(&p).fqn)
}

/// Kusto datetime text to 100 ns ticks since the Unix epoch and back: `status` compares
/// `FailedOn` and ingestion times with the same parser the sandbox ingests with.
pub use engine::{Caller, Execution, KustoSandbox, Request, SandboxError, StreamIngest};
pub use error::KustoError;
pub use faults::{Faults, RequestStats};
pub use query::ResultTable as QueryResult;
pub use queued::sas::{AccountError, StorageAccount};
pub use queued::{FAILURE_QUEUE, READY_QUEUE, SUCCESS_QUEUE, TEMP_CONTAINER};
pub use server::{AuthConfig, ServeConfig, ServeError, ServerHandle, serve};
pub use state::{
    Assignment, BatchingPolicy, Column, Database, Extent, IngestionFailure, Mapping, SandboxState,
    StreamingPolicy, Table,
};
pub use store::{JOURNAL_FILE, STATE_FILE, StoreError};

#[cfg(test)]
mod provider_tests;
#[cfg(test)]
mod tests;

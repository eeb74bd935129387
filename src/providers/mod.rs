//! Providers: the only modules that talk to live systems. Each offers a bulk `observe` and an
//! `apply` of planned changes.
//!
//! Everything else in kustoplan is pure; keeping network I/O here means timeouts, retries,
//! request ids and credential handling are implemented (and audited) in one place.

#![warn(missing_docs)]

pub mod connect;
pub mod kafka;
pub mod kusto;
pub mod report;
pub mod retry;
pub mod wait;

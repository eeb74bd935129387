//! Providers: the only modules that talk to live systems. Each offers a bulk `observe` and an
//! `apply` of planned changes.

pub mod kusto;

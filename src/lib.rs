//! kustoplan: pipeline-as-code for Azure Data Explorer (Kusto) ingestion from Kafka.
//!
//! The library holds everything the `kustoplan` binary does, so tests and benchmarks can call it.

pub mod cli;
pub mod diagnostics;
pub mod export;
pub mod import;
pub mod interrupt;
pub mod kusto;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod providers;
pub mod redact;
pub mod sandbox;
pub mod saved_plan;
pub mod status;
pub mod targets;
pub mod text;
pub mod threads;
pub mod verify;
pub mod workflow;

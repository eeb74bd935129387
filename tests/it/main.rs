//! Every integration test in one binary (one link, one process): each file is the tests of
//! one subject, `common` the support they share (running the CLI, sandboxes, the real Kafka,
//! Connect and Azurite, test identities). Tests that must own the process environment
//! (`tests/kafka_oauth.rs`, `tests/kusto_client_msi.rs` set the managed-identity variables
//! librdkafka and azure_identity read) stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod apply_closed_connection;
mod apply_concurrency;
mod apply_http;
mod apply_live_lease;
mod apply_lock;
mod apply_order;
mod apply_signals;
mod ci_examples;
mod cli;
mod cli_apply_json;
mod cli_habits;
mod cli_show;
mod cli_validate_json;
mod coexistence;
mod connect_client;
mod connect_real;
mod connect_sandbox_cli;
mod cross_after_apply;
mod dataflow_real;
mod e2e_real;
mod editor_schema;
mod fmt;
mod fuzz_manifests;
mod import;
mod import_safety;
mod kafka_admin;
mod kafka_real;
mod kusto_client;
mod kusto_sandbox_http;
mod kusto_sandbox_queued;
mod kusto_sandbox_rows;
mod materialized_views;
mod newcomer;
mod ownership;
mod plan_apply;
mod plan_reads_early;
mod python_sdk_conformance;
mod readme;
mod release;
mod render_conformance;
mod sandbox_cli;
mod sandbox_journal;
mod sandbox_limits;
mod saved_plans;
mod status_cli;
mod status_real;
mod targeting;
mod test_layout;
mod untrusted_input;
mod update_policies;
mod update_policy_rows;
mod validate_rules;
mod verify_sandbox;
mod wait_progress;

//! Built-in local targets, so kustoplan's main job runs without external services.

pub mod azurite;
pub mod connect;
pub mod group_commit;
pub mod http;
pub mod journal;
pub mod kafka;
pub mod kusto;
pub mod lease;
pub mod persist;

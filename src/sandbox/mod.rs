//! Built-in local targets, so kustoplan's main job runs without external services.

pub mod kafka;
pub mod kusto;

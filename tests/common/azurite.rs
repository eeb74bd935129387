//! Azurite for the queued ingestion tests, started by kustoplan's own code (what
//! `kustoplan sandbox serve --ingest` runs: npm install into the user cache when missing,
//! free loopback ports, stopped on drop). Needs npm; skipped loudly without it, except in CI.

use kustoplan::sandbox::azurite::Azurite;

/// A running Azurite, or `None` when the test should skip.
pub async fn start(test: &'static str) -> Option<Azurite> {
    if !super::tool_available("npm", test) {
        return None;
    }
    let started = tokio::task::spawn_blocking(Azurite::start)
        .await
        .expect("azurite start task");
    Some(started.unwrap_or_else(|e| panic!("{test}: {e}")))
}

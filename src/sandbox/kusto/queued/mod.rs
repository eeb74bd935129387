//! Queued ingestion (management-data-ingestion-queued-ingestion-overview.md,
//! api-netfx-kusto-ingest-client-rest.md): `.get ingestion resources` hands out SAS URIs of a
//! real storage account (the Azurite emulator, [`crate::sandbox::azurite`]), `.get kusto
//! identity token` an authorization context, and a worker ([`worker`]) reads the documented
//! messages from the ready-for-aggregation queue, downloads the blobs, batches them by the
//! effective batching policy, appends the rows and reports to the status queues and to
//! `.show ingestion failures`.
//!
//! Choices where the sandbox differs from or narrows the service:
//! - One storage account with one ready-for-aggregation queue, one temp container, one
//!   success and one failure queue; no `IngestionsStatusTable` (status reporting to a table,
//!   `ReportMethod` 1, is not done; 2 reports to the queues only).
//! - The authorization context is an HMAC-signed token naming the caller, signed with a key
//!   that lives as long as the process: tokens from before a restart are refused.
//! - SAS URIs expire 24 hours after they are handed out.
//! - A sealed batch becomes one extent; blobs of a batch that cannot be read fail alone, the
//!   others are ingested.

pub(super) mod batching;
pub(super) mod message;
pub mod sas;
pub(super) mod storage;
pub(super) mod worker;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::engine::Caller;
use super::state::IngestionFailure;
use crate::kusto::v1::V1Table;
use crate::model::ColumnType;
use sas::{StorageAccount, expiry_in};

/// The queue clients post ingestion messages to.
pub const READY_QUEUE: &str = "readyforaggregation-secured";
/// The queue success reports go to.
pub const SUCCESS_QUEUE: &str = "successfulingestions";
/// The queue failure reports go to.
pub const FAILURE_QUEUE: &str = "failedingestions";
/// The blob container clients upload to.
pub const TEMP_CONTAINER: &str = "tempstorage";

/// How long handed-out SAS URIs stay valid.
const SAS_HOURS: u64 = 24;

/// Queued ingestion's configuration inside the engine: the storage account and the key that
/// signs authorization contexts.
pub(super) struct QueuedIngestion {
    account: StorageAccount,
    secret: [u8; 32],
}

/// Never shows the signing key.
impl std::fmt::Debug for QueuedIngestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedIngestion")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl QueuedIngestion {
    /// Queued ingestion through `account`, with a fresh random signing key.
    pub fn new(account: StorageAccount) -> Self {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        QueuedIngestion { account, secret }
    }

    /// The `.get ingestion resources` answer: a row per resource with its SAS URI. Clients
    /// may upload, read, delete and list in the temp container, add to the ready queue, and
    /// read and dequeue the status queues.
    pub fn resources(&self) -> V1Table {
        let se = expiry_in(SAS_HOURS);
        let a = &self.account;
        let queue = |name: &str, sp: &str| {
            format!(
                "{}/{name}?{}",
                a.queue_endpoint(),
                a.queue_sas(name, sp, &se)
            )
        };
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("ResourceTypeName", ColumnType::String),
                ("StorageRoot", ColumnType::String),
            ],
        );
        for (kind, root) in [
            ("SecuredReadyForAggregationQueue", queue(READY_QUEUE, "a")),
            ("FailedIngestionsQueue", queue(FAILURE_QUEUE, "rp")),
            ("SuccessfulIngestionsQueue", queue(SUCCESS_QUEUE, "rp")),
            (
                "TempStorage",
                format!(
                    "{}/{TEMP_CONTAINER}?{}",
                    a.blob_endpoint(),
                    a.container_sas(TEMP_CONTAINER, "rwdl", &se)
                ),
            ),
        ] {
            t.push(vec![json!(kind), json!(root)]);
        }
        t
    }

    /// The `.get kusto identity token` answer for `caller`.
    pub fn identity_token(&self, caller: &Caller) -> V1Table {
        let mut t = V1Table::new("Table_0", &[("AuthorizationContext", ColumnType::String)]);
        t.push(vec![json!(self.token(caller))]);
        t
    }

    fn token(&self, caller: &Caller) -> String {
        let payload = B64URL.encode(
            json!({"principal": caller.principal, "admin": caller.cluster_admin}).to_string(),
        );
        format!("{payload}.{}", B64URL.encode(self.mac(&payload)))
    }

    fn mac(&self, payload: &str) -> Vec<u8> {
        // HMAC accepts keys of any length; the error arm cannot happen.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return Vec::new();
        };
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The caller an authorization context was issued to, if this process issued it.
    pub fn caller_of(&self, token: &str) -> Option<Caller> {
        let (payload, sig) = token.split_once('.')?;
        let sig = B64URL.decode(sig).ok()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).ok()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let doc: serde_json::Value = serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()?;
        Some(Caller {
            principal: doc["principal"].as_str()?.to_string(),
            cluster_admin: doc["admin"].as_bool()?,
        })
    }
}

/// How many failures `.show ingestion failures` keeps (oldest dropped first).
pub(super) const MAX_FAILURES: usize = 1000;

/// The `.show ingestion failures` answer: the documented columns, for `database`.
pub(super) fn failures_table<'a>(
    failures: impl Iterator<Item = &'a IngestionFailure>,
    database: &str,
) -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("OperationId", ColumnType::String),
            ("Database", ColumnType::String),
            ("Table", ColumnType::String),
            ("FailedOn", ColumnType::DateTime),
            ("IngestionSourcePath", ColumnType::String),
            ("Details", ColumnType::String),
            ("FailureKind", ColumnType::String),
            ("RootActivityId", ColumnType::String),
            ("OperationKind", ColumnType::String),
            ("OriginatesFromUpdatePolicy", ColumnType::Bool),
            ("ErrorCode", ColumnType::String),
            ("Principal", ColumnType::String),
            ("User", ColumnType::String),
            ("IngestionProperties", ColumnType::String),
            ("NumberOfSources", ColumnType::Int),
            ("ShouldRetry", ColumnType::Bool),
        ],
    );
    for f in failures.filter(|f| f.database == database) {
        t.push(vec![
            json!(f.operation_id),
            json!(f.database),
            json!(f.table),
            json!(f.failed_on),
            json!(f.source_path),
            json!(f.details),
            json!(if f.permanent {
                "Permanent"
            } else {
                "Transient"
            }),
            json!(f.root_activity_id),
            json!(f.operation_kind),
            json!(false),
            json!(f.error_code),
            json!(f.principal),
            json!(""),
            json!(f.properties),
            json!(1),
            json!(!f.permanent),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued() -> QueuedIngestion {
        QueuedIngestion::new(
            StorageAccount::new(
                "devstoreaccount1",
                "a2V5",
                "http://127.0.0.1:1/devstoreaccount1",
                "http://127.0.0.1:2/devstoreaccount1",
            )
            .expect("account"),
        )
    }

    #[test]
    fn identity_tokens_name_their_caller_and_cannot_be_forged() {
        let q = queued();
        let caller = Caller::principal("aadapp=x;t");
        let token = q.token(&caller);
        assert_eq!(q.caller_of(&token), Some(caller));
        let (payload, sig) = token.split_once('.').expect("two parts");
        let forged = B64URL.encode(r#"{"principal":"aadapp=x;t","admin":true}"#);
        assert_eq!(q.caller_of(&format!("{forged}.{sig}")), None);
        assert_eq!(q.caller_of(payload), None);
        assert_eq!(queued().caller_of(&token), None, "another process's key");
    }

    #[test]
    fn resources_name_every_documented_kind_with_a_sas() {
        let t = queued().resources();
        let rows: Vec<(String, String)> = t
            .value_rows()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[1].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let kinds: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "SecuredReadyForAggregationQueue",
                "FailedIngestionsQueue",
                "SuccessfulIngestionsQueue",
                "TempStorage"
            ]
        );
        assert!(
            rows[0]
                .1
                .starts_with("http://127.0.0.1:2/devstoreaccount1/readyforaggregation-secured?se=")
        );
        assert!(rows[3].1.contains("/tempstorage?") && rows[3].1.contains("&sr=c&sig="));
    }
}

//! The ingestion worker: polls the ready-for-aggregation queue, batches the messages
//! ([`super::batching`]), downloads each sealed batch's blobs (plain or gzip), has the engine
//! append the rows and record failures, deletes ingested blobs (unless
//! `RetainBlobOnSuccess`) and the messages, and posts status messages as `ReportLevel` asks.
//!
//! A message stays invisible in the queue while its batch is open and is deleted only once
//! its batch is ingested or failed: a sandbox stopped in between gets it again on restart.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::oneshot;

use super::super::clock;
use super::super::engine::{BatchOutcome, KustoSandbox, QueuedBatch, QueuedBlob};
use super::super::error::KustoError;
use super::super::state::IngestionFailure;
use super::batching::{Arrival, Batch, Batcher};
use super::message::{IngestionMessage, ReportLevel};
use super::storage::{QueueMessage, Storage, StorageError};
use super::{FAILURE_QUEUE, READY_QUEUE, SUCCESS_QUEUE, TEMP_CONTAINER};

/// How long a received message stays invisible: longer than the longest batching time the
/// policy allows (30 minutes), so an open batch keeps its messages.
const VISIBILITY: Duration = Duration::from_secs(35 * 60);

/// Messages read per poll (the queue service's maximum).
const MAX_MESSAGES: u32 = 32;

/// Largest blob the worker decompresses (a guard against gzip bombs).
const MAX_BLOB_BYTES: u64 = 512 * 1024 * 1024;

/// A running worker; dropping it stops it too.
#[derive(Debug)]
pub(in crate::sandbox::kusto) struct Worker {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Worker {
    /// Creates the queues and the container, then starts polling every `poll`.
    pub async fn start(
        sandbox: Arc<KustoSandbox>,
        storage: Storage,
        poll: Duration,
    ) -> Result<Worker, StorageError> {
        storage.create_container(TEMP_CONTAINER).await?;
        for queue in [READY_QUEUE, SUCCESS_QUEUE, FAILURE_QUEUE] {
            storage.create_queue(queue).await?;
        }
        sandbox.enable_queued_ingestion(storage.account().clone());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(run(sandbox, storage, poll, rx));
        Ok(Worker {
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Stops polling and waits for the batch in progress (open batches are left in the
    /// queue).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the queued ingestion worker panicked");
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A message waiting in an open batch.
struct Pending {
    message: IngestionMessage,
    received: QueueMessage,
}

async fn run(
    sandbox: Arc<KustoSandbox>,
    storage: Storage,
    poll: Duration,
    mut stop: oneshot::Receiver<()>,
) {
    let mut batcher = Batcher::<Pending>::default();
    loop {
        let mut sealed = Vec::new();
        let mut received = 0;
        match storage.receive(READY_QUEUE, MAX_MESSAGES, VISIBILITY).await {
            Ok(messages) => {
                received = messages.len();
                for m in messages {
                    sealed.extend(accept(&sandbox, &storage, &mut batcher, m).await);
                }
            }
            Err(e) => tracing::warn!(error = %e, "queued ingestion: cannot poll the queue"),
        }
        sealed.extend(batcher.due(Instant::now()));
        for batch in sealed {
            ingest(&sandbox, &storage, batch).await;
        }
        if received == MAX_MESSAGES as usize {
            // More may be waiting: poll again at once, unless asked to stop.
            if stop.try_recv().is_ok() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// Parses one received message into the batcher; unreadable messages are dropped from the
/// queue (their content may hold a SAS: it is not logged).
async fn accept(
    sandbox: &KustoSandbox,
    storage: &Storage,
    batcher: &mut Batcher<Pending>,
    received: QueueMessage,
) -> Option<Batch<Pending>> {
    let message = match IngestionMessage::parse(&received.text) {
        Ok(m) => m,
        Err(reason) => {
            tracing::warn!(id = %received.id, %reason, "queued ingestion: dropping an unreadable message");
            delete_message(storage, &received).await;
            return None;
        }
    };
    let limits = sandbox.batching_limits(&message.database, &message.table);
    let arrival = Arrival {
        raw_size: message.raw_data_size,
        flush: message.flush_immediately,
        single: message.single_blob(),
    };
    let key = message.batch_key();
    batcher.add(
        key,
        Pending { message, received },
        arrival,
        limits,
        Instant::now(),
    )
}

async fn ingest(sandbox: &Arc<KustoSandbox>, storage: &Storage, batch: Batch<Pending>) {
    let Some(first) = batch.items.first() else {
        return;
    };
    tracing::debug!(seal = ?batch.seal, blobs = batch.items.len(), "queued ingestion: batch sealed");
    let mut blobs = Vec::with_capacity(batch.items.len());
    for p in &batch.items {
        blobs.push(QueuedBlob {
            source_id: p.message.id.clone(),
            source_path: p.message.source_path().to_string(),
            data: download(storage, &p.message).await,
        });
    }
    let (database, table) = (first.message.database.clone(), first.message.table.clone());
    let properties = first.message.properties.clone();
    let context = first.message.authorization_context.clone();
    let engine = Arc::clone(sandbox);
    let outcome = tokio::task::spawn_blocking(move || {
        engine.ingest_queued(QueuedBatch {
            database: &database,
            table: &table,
            properties: &properties,
            authorization_context: context.as_deref(),
            blobs,
        })
    })
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // The messages stay in the queue and come back after the visibility timeout.
            tracing::error!(error = %e, "queued ingestion: the engine panicked on a batch");
            return;
        }
    };
    report(storage, &batch.items, &outcome).await;
}

/// Downloads and decompresses one blob; failures carry the documented `Download_*` codes.
async fn download(storage: &Storage, message: &IngestionMessage) -> Result<Vec<u8>, KustoError> {
    let path = message.source_path();
    let bytes = storage.download(&message.blob_path).await.map_err(|e| {
        let detail = format!("Failed to download blob '{path}': {}", e.detail);
        match e.status {
            Some(404) => KustoError::ingestion("Download_SourceNotFound", detail),
            Some(403) => KustoError::ingestion("Download_Forbidden", detail),
            _ => KustoError::transient_ingestion("Download_UnknownError", detail),
        }
    })?;
    let gzip = bytes.starts_with(&[0x1f, 0x8b]) || path.to_ascii_lowercase().ends_with(".gz");
    if !gzip {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .take(MAX_BLOB_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            KustoError::ingestion(
                "BadRequest_InvalidBlob",
                format!("Blob '{path}' is not valid gzip data: {e}."),
            )
        })?;
    if out.len() as u64 > MAX_BLOB_BYTES {
        return Err(KustoError::ingestion(
            "BadRequest_FileTooLarge",
            format!("Blob '{path}' is larger than {MAX_BLOB_BYTES} bytes once decompressed."),
        ));
    }
    Ok(out)
}

/// Deletes ingested blobs, posts the status messages `ReportLevel` asks for, and removes the
/// messages from the queue.
async fn report(storage: &Storage, items: &[Pending], outcome: &BatchOutcome) {
    for (p, result) in items.iter().zip(&outcome.results) {
        let m = &p.message;
        let queue_report = m.report_method.uses_queue();
        match result {
            None => {
                if !m.retain_blob_on_success
                    && let Err(e) = storage.delete_blob(&m.blob_path).await
                {
                    tracing::warn!(error = %e, "queued ingestion: cannot delete an ingested blob");
                }
                if queue_report && m.report_level == ReportLevel::All {
                    let status = json!({
                        "OperationId": outcome.operation_id,
                        "Database": m.database,
                        "Table": m.table,
                        "SucceededOn": clock::now(),
                        "IngestionSourceId": m.id,
                        "IngestionSourcePath": m.source_path(),
                        "RootActivityId": outcome.root_activity_id,
                    });
                    post(storage, SUCCESS_QUEUE, &status).await;
                }
            }
            Some(f) => {
                tracing::info!(
                    database = %m.database, table = %m.table, code = %f.error_code,
                    source = %f.source_path, "queued ingestion failed"
                );
                if queue_report && m.report_level != ReportLevel::None {
                    post(storage, FAILURE_QUEUE, &failure_message(f)).await;
                }
            }
        }
        delete_message(storage, &p.received).await;
    }
}

/// The failure status message ("Ingestion failure message structure").
fn failure_message(f: &IngestionFailure) -> serde_json::Value {
    json!({
        "OperationId": f.operation_id,
        "Database": f.database,
        "Table": f.table,
        "FailedOn": f.failed_on,
        "IngestionSourceId": f.source_id,
        "IngestionSourcePath": f.source_path,
        "Details": f.details,
        "ErrorCode": f.error_code,
        "FailureStatus": if f.permanent { "Permanent" } else { "Transient" },
        "RootActivityId": f.root_activity_id,
        "OriginatesFromUpdatePolicy": false,
        "ShouldRetry": !f.permanent,
    })
}

async fn post(storage: &Storage, queue: &str, status: &serde_json::Value) {
    if let Err(e) = storage.put_message(queue, &status.to_string()).await {
        tracing::warn!(error = %e, "queued ingestion: cannot post a status message");
    }
}

async fn delete_message(storage: &Storage, m: &QueueMessage) {
    if let Err(e) = storage.delete_message(READY_QUEUE, m).await {
        tracing::warn!(error = %e, "queued ingestion: cannot delete a message");
    }
}

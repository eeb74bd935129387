//! Queued ingestion of one blob without the SDK, as the REST ingestion page describes
//! (api-netfx-kusto-ingest-client-rest.md): `.get ingestion resources`, `.get kusto identity
//! token`, the blob PUT into a `TempStorage` container, and the documented message (base64
//! JSON) posted to a `SecuredReadyForAggregationQueue`. `verify` ingests its canary for a
//! table without a route this way, so the path a queued-ingestion producer takes is the one
//! exercised. SAS tokens are secrets: they never appear in an error.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use super::transport::{KustoTransport, TransportError};
use crate::kusto::command::Command;
use crate::kusto::v1::V1Response;

/// Time allowed for each storage request (blob PUT, queue POST).
const STORAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// One blob to ingest.
#[derive(Debug, Clone)]
pub struct QueuedBlob<'a> {
    /// Target database.
    pub database: &'a str,
    /// Target table.
    pub table: &'a str,
    /// Data format (`json`, `csv`, ...), the `format` ingestion property.
    pub format: &'a str,
    /// The `ingestionMappingReference` property, when a mapping applies.
    pub mapping: Option<&'a str>,
    /// Extent tags for the rows (`drop-by:...`), the `tags` property.
    pub tags: &'a [String],
    /// The data, uncompressed.
    pub data: &'a [u8],
}

/// The queued ingestion resources this ingestion uses: URIs with their SAS.
struct Resources {
    temp_storage: String,
    ready_queue: String,
}

/// Uploads `blob` and announces it; returns the ingestion source id (`Id` of the message).
/// The rows become queryable when the table's batching policy seals the batch.
pub async fn ingest(
    transport: &KustoTransport,
    blob: &QueuedBlob<'_>,
) -> Result<String, TransportError> {
    let resources = resources(transport, blob.database).await?;
    let token = transport
        .mgmt(blob.database, &Command::GetKustoIdentityToken.to_string())
        .await?
        .primary()
        .and_then(|t| t.value_rows().next().and_then(|r| r.first()).cloned())
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| TransportError::other("`.get kusto identity token` returned no token"))?;
    let id = uuid::Uuid::new_v4().to_string();
    let http = reqwest::Client::builder()
        .timeout(STORAGE_TIMEOUT)
        .build()
        .map_err(|e| TransportError::other(format!("cannot set up the storage client: {e}")))?;

    let (container, sas) = split_sas(&resources.temp_storage, "TempStorage")?;
    let blob_name = format!("{}__{}__{id}.{}", blob.database, blob.table, blob.format);
    let blob_url = format!("{container}/{blob_name}?{sas}");
    let put = http
        .put(&blob_url)
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-version", "2021-08-06")
        .body(blob.data.to_vec())
        .send()
        .await
        .map_err(|e| storage_error("uploading the blob", container, &e))?;
    if !put.status().is_success() {
        return Err(TransportError::other(format!(
            "uploading the blob to {container} answered HTTP {}",
            put.status().as_u16()
        )));
    }

    let mut properties = json!({
        "authorizationContext": token,
        "format": blob.format,
    });
    if let Some(mapping) = blob.mapping {
        properties["ingestionMappingReference"] = json!(mapping);
    }
    if !blob.tags.is_empty() {
        properties["tags"] = json!(json!(blob.tags).to_string());
    }
    let message = json!({
        "Id": id,
        "BlobPath": blob_url,
        "RawDataSize": blob.data.len(),
        "DatabaseName": blob.database,
        "TableName": blob.table,
        "RetainBlobOnSuccess": false,
        "FlushImmediately": false,
        "ReportLevel": 0,
        "ReportMethod": 0,
        "AdditionalProperties": properties,
    });
    let (queue, sas) = split_sas(&resources.ready_queue, "SecuredReadyForAggregationQueue")?;
    let body = format!(
        "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
        BASE64.encode(message.to_string())
    );
    let post = http
        .post(format!("{queue}/messages?{sas}"))
        .header("x-ms-version", "2021-08-06")
        .body(body)
        .send()
        .await
        .map_err(|e| storage_error("posting the ingestion message", queue, &e))?;
    if !post.status().is_success() {
        return Err(TransportError::other(format!(
            "posting the ingestion message to {queue} answered HTTP {}",
            post.status().as_u16()
        )));
    }
    Ok(id)
}

/// The first `TempStorage` container and `SecuredReadyForAggregationQueue` queue.
async fn resources(transport: &KustoTransport, db: &str) -> Result<Resources, TransportError> {
    let response = transport
        .mgmt(db, &Command::GetIngestionResources.to_string())
        .await?;
    let find = |kind: &str| resource(&response, kind);
    Ok(Resources {
        temp_storage: find("TempStorage")?,
        ready_queue: find("SecuredReadyForAggregationQueue")?,
    })
}

fn resource(response: &V1Response, kind: &str) -> Result<String, TransportError> {
    let table = response
        .primary()
        .ok_or_else(|| TransportError::other("`.get ingestion resources` returned no table"))?;
    let (Some(name), Some(root)) = (
        table.column_index("ResourceTypeName"),
        table.column_index("StorageRoot"),
    ) else {
        return Err(TransportError::other(
            "`.get ingestion resources` lacks the ResourceTypeName and StorageRoot columns",
        ));
    };
    table
        .value_rows()
        .find(|r| r.get(name).and_then(|v| v.as_str()) == Some(kind))
        .and_then(|r| r.get(root).and_then(|v| v.as_str()).map(str::to_string))
        .ok_or_else(|| {
            TransportError::other(format!(
                "`.get ingestion resources` offers no {kind}: is queued ingestion enabled on this cluster?"
            ))
        })
}

/// `https://account/container?sas` as the resource without its SAS, and the SAS.
fn split_sas<'a>(uri: &'a str, kind: &str) -> Result<(&'a str, &'a str), TransportError> {
    uri.split_once('?')
        .ok_or_else(|| TransportError::other(format!("the {kind} resource carries no SAS")))
}

/// A storage request failure, without the URL's SAS (reqwest's message includes the URL).
fn storage_error(what: &str, resource: &str, e: &reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    TransportError::other(format!("{what} to {resource} {kind}"))
}

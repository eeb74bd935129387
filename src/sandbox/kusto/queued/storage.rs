//! The few Azure Storage REST calls queued ingestion needs (create container and queue,
//! receive, delete and put queue messages, get and delete blobs), with reqwest. The sandbox
//! authenticates its own calls with an account SAS; blobs are read and deleted with the SAS
//! the client put in `BlobPath`. Errors name the operation and the resource without its SAS.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;

use super::message::without_query;
use super::sas::{StorageAccount, encode, expiry_in};

/// The storage REST version the sandbox speaks.
const STORAGE_VERSION: &str = "2021-12-02";

/// A storage call that failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {resource} failed: {detail}")]
pub struct StorageError {
    /// What was attempted.
    pub operation: &'static str,
    /// The resource, without its SAS.
    pub resource: String,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// What went wrong (never the SAS).
    pub detail: String,
}

/// One message received from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// `MessageId`.
    pub id: String,
    /// `PopReceipt`, needed to delete it.
    pub pop_receipt: String,
    /// `MessageText`, as stored.
    pub text: String,
}

/// A client of one storage account's blob and queue services.
#[derive(Debug, Clone)]
pub struct Storage {
    http: reqwest::Client,
    account: StorageAccount,
}

impl Storage {
    /// A client with timeouts (every call has one).
    pub fn new(account: StorageAccount) -> Result<Self, StorageError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| StorageError {
                operation: "create",
                resource: "the storage HTTP client".into(),
                status: None,
                detail: e.to_string(),
            })?;
        Ok(Storage { http, account })
    }

    /// The account.
    pub fn account(&self) -> &StorageAccount {
        &self.account
    }

    fn admin_sas(&self) -> String {
        self.account
            .account_sas("bq", "sco", "rwdlacup", &expiry_in(1))
    }

    fn queue_url(&self, queue: &str) -> String {
        format!("{}/{queue}", self.account.queue_endpoint())
    }

    /// Creates blob container `name` (already existing is fine).
    pub async fn create_container(&self, name: &str) -> Result<(), StorageError> {
        let resource = format!("{}/{name}", self.account.blob_endpoint());
        let url = format!("{resource}?restype=container&{}", self.admin_sas());
        let req = self.http.put(url).header("content-length", "0");
        self.send("create container", &resource, req, &[StatusCode::CONFLICT])
            .await
            .map(drop)
    }

    /// Creates queue `name` (already existing is fine).
    pub async fn create_queue(&self, name: &str) -> Result<(), StorageError> {
        let resource = self.queue_url(name);
        let url = format!("{resource}?{}", self.admin_sas());
        let req = self.http.put(url).header("content-length", "0");
        self.send("create queue", &resource, req, &[StatusCode::CONFLICT])
            .await
            .map(drop)
    }

    /// Receives up to `max` messages, hiding them for `visibility` (they come back unless
    /// deleted in time).
    pub async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StorageError> {
        let resource = self.queue_url(queue);
        let url = format!(
            "{resource}/messages?numofmessages={max}&visibilitytimeout={}&{}",
            visibility.as_secs().max(1),
            self.admin_sas()
        );
        let body = self
            .send("receive messages from", &resource, self.http.get(url), &[])
            .await?;
        let text = String::from_utf8_lossy(&body);
        Ok(elements(&text, "QueueMessage")
            .into_iter()
            .filter_map(|m| {
                Some(QueueMessage {
                    id: element(m, "MessageId")?,
                    pop_receipt: element(m, "PopReceipt")?,
                    text: element(m, "MessageText").unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Deletes a received message.
    pub async fn delete_message(
        &self,
        queue: &str,
        message: &QueueMessage,
    ) -> Result<(), StorageError> {
        let resource = self.queue_url(queue);
        let url = format!(
            "{resource}/messages/{}?popreceipt={}&{}",
            encode(&message.id),
            encode(&message.pop_receipt),
            self.admin_sas()
        );
        self.send(
            "delete a message from",
            &resource,
            self.http.delete(url),
            &[],
        )
        .await
        .map(drop)
    }

    /// Posts `text` base64-encoded (what the SDKs' status queue readers decode).
    pub async fn put_message(&self, queue: &str, text: &str) -> Result<(), StorageError> {
        let resource = self.queue_url(queue);
        let url = format!("{resource}/messages?{}", self.admin_sas());
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            BASE64.encode(text)
        );
        let req = self.http.post(url).body(body);
        self.send("post a message to", &resource, req, &[])
            .await
            .map(drop)
    }

    /// Downloads a blob by its URI with SAS.
    pub async fn download(&self, blob_url: &str) -> Result<Vec<u8>, StorageError> {
        self.send(
            "download blob",
            without_query(blob_url),
            self.http.get(blob_url),
            &[],
        )
        .await
    }

    /// Deletes a blob by its URI with SAS.
    pub async fn delete_blob(&self, blob_url: &str) -> Result<(), StorageError> {
        self.send(
            "delete blob",
            without_query(blob_url),
            self.http.delete(blob_url),
            &[],
        )
        .await
        .map(drop)
    }

    async fn send(
        &self,
        operation: &'static str,
        resource: &str,
        req: reqwest::RequestBuilder,
        also_fine: &[StatusCode],
    ) -> Result<Vec<u8>, StorageError> {
        let fail = |status: Option<u16>, detail: String| StorageError {
            operation,
            resource: resource.to_string(),
            status,
            detail,
        };
        let resp = req
            .header("x-ms-version", STORAGE_VERSION)
            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
            .send()
            .await
            // reqwest names the URL in its errors, SAS included: drop it.
            .map_err(|e| fail(None, e.without_url().to_string()))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| fail(Some(status.as_u16()), e.without_url().to_string()))?;
        if status.is_success() || also_fine.contains(&status) {
            return Ok(body.to_vec());
        }
        let text = String::from_utf8_lossy(&body);
        let code = element(&text, "Code").unwrap_or_default();
        Err(fail(
            Some(status.as_u16()),
            format!("HTTP {status} {code}").trim_end().to_string(),
        ))
    }
}

/// The inner texts of every `<tag>...</tag>` in `xml` (the storage REST answers are flat).
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// The unescaped text of the first `<tag>` in `xml`.
fn element(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).first().map(|t| unescape(t))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_queue_messages_from_the_rest_answer() {
        // Recorded from the emulator's answer to Get Messages.
        let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><QueueMessagesList><QueueMessage><MessageId>9fec45e6-297e-4984-a795-28acc2460aed</MessageId><InsertionTime>Sat, 05 Dec 2026 04:55:11 GMT</InsertionTime><ExpirationTime>Sat, 12 Dec 2026 04:55:11 GMT</ExpirationTime><PopReceipt>MDVEZWMyMDI2MDQ6NTU6MTE2NzNj</PopReceipt><TimeNextVisible>Sat, 05 Dec 2026 04:55:41 GMT</TimeNextVisible><DequeueCount>1</DequeueCount><MessageText>aGVsbG8=</MessageText></QueueMessage><QueueMessage><MessageId>b</MessageId><PopReceipt>a&amp;b</PopReceipt><MessageText>x</MessageText></QueueMessage></QueueMessagesList>"#;
        let found: Vec<(Option<String>, Option<String>, Option<String>)> =
            elements(xml, "QueueMessage")
                .into_iter()
                .map(|m| {
                    (
                        element(m, "MessageId"),
                        element(m, "PopReceipt"),
                        element(m, "MessageText"),
                    )
                })
                .collect();
        assert_eq!(
            found,
            [
                (
                    Some("9fec45e6-297e-4984-a795-28acc2460aed".to_string()),
                    Some("MDVEZWMyMDI2MDQ6NTU6MTE2NzNj".to_string()),
                    Some("aGVsbG8=".to_string())
                ),
                (
                    Some("b".to_string()),
                    Some("a&b".to_string()),
                    Some("x".to_string())
                )
            ]
        );
        assert!(elements("<QueueMessagesList />", "QueueMessage").is_empty());
    }
}

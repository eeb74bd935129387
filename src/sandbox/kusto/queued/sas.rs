//! Azure Storage shared access signatures, signed with the account key (HMAC-SHA256 over the
//! documented string-to-sign), so that the storage emulator and Microsoft's storage SDKs
//! accept the URIs `.get ingestion resources` hands out exactly as they accept the service's.
//!
//! The strings to sign follow the Azure Storage SAS specification for version
//! [`SAS_VERSION`]: service SAS for a blob container (`sr=c`) and for a queue, and account SAS
//! for the sandbox's own administration (creating queues and containers).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `sv` the sandbox signs with: the newest version Microsoft's Python storage SDKs use,
/// which the pinned emulator accepts.
pub const SAS_VERSION: &str = "2025-07-05";

/// A storage account the sandbox hands out: its name, key and path-style endpoints
/// (`http://127.0.0.1:PORT/ACCOUNT`, the emulator's form).
#[derive(Clone, PartialEq, Eq)]
pub struct StorageAccount {
    name: String,
    key: Vec<u8>,
    blob_endpoint: String,
    queue_endpoint: String,
}

/// Never shows the key: a logged account must not leak it.
impl fmt::Debug for StorageAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageAccount")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .field("blob_endpoint", &self.blob_endpoint)
            .field("queue_endpoint", &self.queue_endpoint)
            .finish()
    }
}

/// Why a storage account description was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The account key is not base64 (the key itself is never shown).
    #[error("the key of storage account '{0}' is not valid base64")]
    Key(String),
}

impl StorageAccount {
    /// An account from its name, base64 key and endpoints (trailing `/` ignored).
    pub fn new(
        name: &str,
        key_base64: &str,
        blob_endpoint: &str,
        queue_endpoint: &str,
    ) -> Result<Self, AccountError> {
        let key = BASE64
            .decode(key_base64.trim())
            .map_err(|_| AccountError::Key(name.to_string()))?;
        Ok(StorageAccount {
            name: name.to_string(),
            key,
            blob_endpoint: blob_endpoint.trim_end_matches('/').to_string(),
            queue_endpoint: queue_endpoint.trim_end_matches('/').to_string(),
        })
    }

    /// The account name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://HOST:PORT/ACCOUNT` of the blob service.
    pub fn blob_endpoint(&self) -> &str {
        &self.blob_endpoint
    }

    /// `http://HOST:PORT/ACCOUNT` of the queue service.
    pub fn queue_endpoint(&self) -> &str {
        &self.queue_endpoint
    }

    /// A service SAS (query string, no `?`) for blob container `container` with permissions
    /// `permissions` (in the documented order, e.g. `rwdl`), valid until `expiry`
    /// (`YYYY-MM-DDThh:mm:ssZ`).
    pub fn container_sas(&self, container: &str, permissions: &str, expiry: &str) -> String {
        let resource = format!("/blob/{}/{container}", self.name);
        // sp, st, se, resource, si, sip, spr, sv, sr, snapshot time, ses, rscc, rscd, rsce,
        // rscl, rsct.
        let fields = [
            permissions,
            "",
            expiry,
            &resource,
            "",
            "",
            "",
            SAS_VERSION,
            "c",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ];
        let sig = self.sign(&fields.join("\n"));
        query(&[
            ("se", expiry),
            ("sp", permissions),
            ("sv", SAS_VERSION),
            ("sr", "c"),
            ("sig", &sig),
        ])
    }

    /// A service SAS (query string, no `?`) for queue `queue`.
    pub fn queue_sas(&self, queue: &str, permissions: &str, expiry: &str) -> String {
        let resource = format!("/queue/{}/{queue}", self.name);
        // sp, st, se, resource, si, sip, spr, sv.
        let fields = [permissions, "", expiry, &resource, "", "", "", SAS_VERSION];
        let sig = self.sign(&fields.join("\n"));
        query(&[
            ("se", expiry),
            ("sp", permissions),
            ("sv", SAS_VERSION),
            ("sig", &sig),
        ])
    }

    /// An account SAS (query string, no `?`) for `services` (`b`, `q`, ...), resource types
    /// `resource_types` (`sco`) and `permissions`.
    pub fn account_sas(
        &self,
        services: &str,
        resource_types: &str,
        permissions: &str,
        expiry: &str,
    ) -> String {
        // account, sp, ss, srt, st, se, sip, spr, sv, ses, and a final empty line.
        let fields = [
            self.name.as_str(),
            permissions,
            services,
            resource_types,
            "",
            expiry,
            "",
            "",
            SAS_VERSION,
            "",
            "",
        ];
        let sig = self.sign(&fields.join("\n"));
        query(&[
            ("se", expiry),
            ("sp", permissions),
            ("sv", SAS_VERSION),
            ("ss", services),
            ("srt", resource_types),
            ("sig", &sig),
        ])
    }

    fn sign(&self, string_to_sign: &str) -> String {
        // HMAC accepts keys of any length; the error arm cannot happen.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(string_to_sign.as_bytes());
        BASE64.encode(mac.finalize().into_bytes())
    }
}

/// `k=v&...` with every value percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a URL query value (everything but RFC 3986 unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An expiry `hours` from now, in the SAS form `YYYY-MM-DDThh:mm:ssZ`.
pub fn expiry_in(hours: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let text = super::super::clock::format_datetime(now + hours * 3600, 0);
    format!("{}Z", &text[..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The emulator's published development account key.
    const DEV_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    fn account() -> StorageAccount {
        StorageAccount::new(
            "devstoreaccount1",
            DEV_KEY,
            "http://127.0.0.1:10000/devstoreaccount1/",
            "http://127.0.0.1:10001/devstoreaccount1",
        )
        .expect("account")
    }

    /// Known vectors: the signatures Microsoft's Python storage SDKs
    /// (`generate_container_sas`, `generate_queue_sas`, `generate_account_sas` of
    /// azure-storage-blob 12.x / azure-storage-queue 12.x, `sv=2025-07-05`) compute for the
    /// same account, resource, permissions and expiry.
    #[test]
    fn signatures_match_microsofts_storage_sdk() {
        let a = account();
        let se = "2030-01-01T00:00:00Z";
        assert_eq!(
            a.container_sas("ingestion-tempstorage", "rwdl", se),
            "se=2030-01-01T00%3A00%3A00Z&sp=rwdl&sv=2025-07-05&sr=c&sig=%2F2S70JxyIhuVHDHSYxiOoiNkUcyCju9UBT1nfAKspa8%3D"
        );
        assert_eq!(
            a.queue_sas("readyforaggregation-secured", "a", se),
            "se=2030-01-01T00%3A00%3A00Z&sp=a&sv=2025-07-05&sig=dYUfq7qexR1m9n%2BNcsR%2BZ0kWQ2LxmWlEHHqGA2jUapQ%3D"
        );
        assert_eq!(
            a.account_sas("bq", "sco", "rwdlacup", se),
            "se=2030-01-01T00%3A00%3A00Z&sp=rwdlacup&sv=2025-07-05&ss=bq&srt=sco&sig=1qEGJVcqJbj%2FAi5jrXQwDYVxeDMT5aiIPyZH4wIGrT0%3D"
        );
    }

    #[test]
    fn keys_are_never_shown() {
        let text = format!("{:?}", account());
        assert!(!text.contains("Eby8"), "{text}");
        assert!(text.contains("<redacted>"));
        let err =
            StorageAccount::new("acc", "not base64!", "http://x", "http://y").expect_err("bad key");
        assert!(!err.to_string().contains("not base64!"));
        assert_eq!(
            account().blob_endpoint(),
            "http://127.0.0.1:10000/devstoreaccount1"
        );
    }

    #[test]
    fn expiry_has_the_sas_form() {
        let e = expiry_in(1);
        assert_eq!(e.len(), 20);
        assert!(e.ends_with('Z') && e.as_bytes()[10] == b'T', "{e}");
    }
}

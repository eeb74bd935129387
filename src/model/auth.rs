//! Entra ID (AAD) credentials as the stack resolved them: which method, which tenant and
//! application, and where the client secret is, by reference. No secret value is ever held
//! here; the providers read the referenced environment variable when they build a client, and
//! the manifest's file:line:column stays with the spec types validation reports against.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// How kustoplan gets AAD (Entra ID) tokens, for Kusto or for Event Hubs' Kafka endpoint.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// No token: the built-in sandbox or a local emulator.
    #[default]
    None,
    /// Federated credential (GitHub Actions OIDC, AKS workload identity).
    WorkloadIdentity,
    /// App registration with a client secret read from an environment variable.
    ClientSecret,
    /// The Azure managed identity of the machine.
    ManagedIdentity,
    /// The signed-in Azure CLI user (`az login`), for laptops.
    AzureCli,
}

/// A reference to a secret; never the secret itself.
///
/// Written as `{env: NAME}` (an environment variable), or as a Kafka Connect config-provider
/// placeholder string such as `${file:/path:key}` (resolved by the Connect worker).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(schema_with = "secret_ref_schema")]
pub enum SecretRef {
    /// An environment variable name.
    Env {
        /// Variable name.
        env: String,
    },
    /// A Connect config-provider placeholder, or (rejected by validation) a literal value.
    Text(String),
}

fn secret_ref_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A secret by reference: `{env: NAME}`, or a Connect config-provider placeholder such as `${file:/path:key}`. Literal secrets are rejected.",
        "anyOf": [
            {"type": "string", "description": "A Connect config-provider placeholder: `${provider:path:key}`."},
            {
                "type": "object",
                "properties": {"env": {"type": "string", "description": "Environment variable name."}},
                "required": ["env"],
                "additionalProperties": false
            }
        ]
    })
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl<'de> Visitor<'de> for SecretVisitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`{env: NAME}` or a `${provider:path:key}` placeholder")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretRef, E> {
                Ok(SecretRef::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SecretRef, E> {
                Ok(SecretRef::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
                let mut env = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "env" if env.is_none() => env = Some(map.next_value::<String>()?),
                        _ => return Err(de::Error::unknown_field(&key, &["env"])),
                    }
                }
                env.map(|env| SecretRef::Env { env })
                    .ok_or_else(|| de::Error::missing_field("env"))
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// One Entra ID credential, resolved from `kusto.auth` or `kafka.security.auth` and free of
/// manifest locations, so the providers that turn it into tokens need not know the manifest.
/// Settings are as written (the providers trim them and report missing ones by key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AadCredential {
    /// Which credential to use.
    pub method: AuthMethod,
    /// AAD tenant id.
    pub tenant_id: Option<String>,
    /// Application (client) id, or the user-assigned identity of `managed_identity`.
    pub client_id: Option<String>,
    /// Where the client secret is (`client_secret` only); never the secret itself.
    pub client_secret: Option<SecretRef>,
    /// File holding the federated token (workload identity); `None` for the SDK's default.
    pub token_file: Option<PathBuf>,
}
